//! `medk-shared`: the pure logic both the browser app and the relay use.
//!
//! Nothing here does I/O: no sockets, no clocks, no storage. Callers pass in
//! time and randomness, so everything is deterministic, testable natively,
//! and compiles unchanged to wasm.

pub mod access;
pub mod actions;
pub mod address;
pub mod api;
pub mod catalogue;
pub mod dashboard;
pub mod deadline;
pub mod doc;
pub mod filters;
pub mod history;
pub mod ids;
pub mod indicators;
pub mod layout;
pub mod model;
pub mod monitoring;
pub mod office;
pub mod replica;
pub mod ru;
pub mod school;
pub mod sync;
pub mod typed_doc;
pub mod undo;
