//! Fuzz target `http_endpoints`: see `deploybot_fuzz::http_endpoints`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deploybot_fuzz::http_endpoints(data));
