//! Fuzzes the request bodies of every endpoint (forms and JSON), sent with credentials that
//! get past authentication: no body may make the server panic or answer `500`.
//!
//! ```text
//! cargo install cargo-fuzz
//! cd uma-as-core && cargo fuzz run --sanitizer none bodies -- -max_total_time=180
//! ```
#![no_main]

#[path = "server.rs"]
mod server;

use libfuzzer_sys::fuzz_target;
use server::{CONTENT_TYPES, METHODS, PATHS, byte, send};

fuzz_target!(|data: &[u8]| {
    let credentials = &server::server().credentials;
    let request = http::Request::builder()
        .method(METHODS[byte(data, 0) % METHODS.len()].clone())
        .uri(format!("http://as.test{}", PATHS[byte(data, 1) % PATHS.len()]))
        .header("content-type", CONTENT_TYPES[byte(data, 2) % CONTENT_TYPES.len()])
        .header("authorization", &credentials[byte(data, 3) % credentials.len()])
        .body(axum::body::Body::from(data.get(4..).unwrap_or_default().to_vec()))
        .unwrap();
    send(request);
});
