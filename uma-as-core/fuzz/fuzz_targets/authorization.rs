//! Fuzzes `Authorization` headers (and `Cookie`, the sign-in session's) on every endpoint: no
//! header may make the server panic or answer `500`.
//!
//! ```text
//! cd uma-as-core && cargo fuzz run --sanitizer none authorization -- -max_total_time=180
//! ```
#![no_main]

#[path = "server.rs"]
mod server;

use libfuzzer_sys::fuzz_target;
use server::{METHODS, PATHS, byte, send};

fuzz_target!(|data: &[u8]| {
    let value = data.get(2..).unwrap_or_default();
    let Ok(value) = http::HeaderValue::from_bytes(value) else {
        return;
    };
    let name = if byte(data, 1) % 4 == 0 {
        http::header::COOKIE
    } else {
        http::header::AUTHORIZATION
    };
    let request = http::Request::builder()
        .method(METHODS[byte(data, 0) % METHODS.len()].clone())
        .uri(format!("http://as.test{}", PATHS[byte(data, 1) % PATHS.len()]))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(name, value)
        .body(axum::body::Body::from("grant_type=client_credentials&token=x"))
        .unwrap();
    send(request);
});
