//! What the tests of the `uma-as` binary share.

pub mod postgres;
pub mod process;
