//! Examples and end-to-end tests of the uma-rs workspace; the crates live in the member folders.
