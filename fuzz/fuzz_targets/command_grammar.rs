//! Fuzz target `command_grammar`: see `deploybot_fuzz::command_grammar`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deploybot_fuzz::command_grammar(data));
