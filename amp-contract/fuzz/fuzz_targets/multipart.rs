//! Fuzz target: amp_contract::fuzzing::multipart (the invariants are documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| amp_contract::fuzzing::multipart(data));
