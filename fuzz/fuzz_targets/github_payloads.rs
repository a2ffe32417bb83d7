//! Fuzz target `github_payloads`: see `deploybot_fuzz::github_payloads`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deploybot_fuzz::github_payloads(data));
