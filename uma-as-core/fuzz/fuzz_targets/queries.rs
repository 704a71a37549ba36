//! Fuzzes the query strings of every endpoint (the sign-in pages read theirs): no query may make
//! the server panic or answer `500`.
//!
//! ```text
//! cd uma-as-core && cargo fuzz run --sanitizer none queries -- -max_total_time=180
//! ```
#![no_main]

#[path = "server.rs"]
mod server;

use libfuzzer_sys::fuzz_target;
use server::{PATHS, byte, send};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data.get(1..).unwrap_or_default()) else {
        return;
    };
    let Ok(uri) = format!("http://as.test{}?{query}", PATHS[byte(data, 0) % PATHS.len()])
        .parse::<http::Uri>()
    else {
        return;
    };
    let credentials = &server::server().credentials;
    let request = http::Request::builder()
        .uri(uri)
        .header("authorization", &credentials[byte(data, 0) % credentials.len()])
        .body(axum::body::Body::empty())
        .unwrap();
    send(request);
});
