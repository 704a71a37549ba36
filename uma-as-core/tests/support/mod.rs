//! What the tests of the `uma-as` binary share.

pub mod api;
pub mod postgres;
pub mod process;
