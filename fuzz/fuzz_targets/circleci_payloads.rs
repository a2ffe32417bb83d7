//! Fuzz target `circleci_payloads`: see `deploybot_fuzz::circleci_payloads`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deploybot_fuzz::circleci_payloads(data));
