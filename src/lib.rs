//! The uma-rs workspace's root package: it owns the demo (`examples/`) and the end-to-end tests
//! (`tests/`). The crates are `uma-rs-guard`, `uma-client` and `uma-as-core`.
//!
//! The README is this page, so that its examples are compiled with the tests.
#![doc = include_str!("../README.md")]
