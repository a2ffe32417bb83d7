//! Replies to slash commands and buttons: help, config, list, claim offers, refusals.
