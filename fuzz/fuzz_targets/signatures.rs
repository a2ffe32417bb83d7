//! Fuzz target `signatures`: see `deploybot_fuzz::signatures`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deploybot_fuzz::signatures(data));
