//! fake github
