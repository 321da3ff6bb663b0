//! `medk-server`: the relay behind the medk app.
//!
//! It owns the network and storage I/O; the protocol logic lives in
//! `medk-shared`. It serves the built app ([`http`]) and the `/sync` WebSocket
//! relay ([`sync`]), keeping documents in a database under the data dir
//! ([`store`]) and the files schools attach as content-addressed blobs
//! beside it ([`blobs`]).

pub mod accounts;
pub mod admin;
pub mod adoption;
pub mod api;
pub mod assignment;
pub mod blobs;
pub mod client;
pub mod connections;
pub mod endpoint;
pub mod http;
pub mod import;
pub mod peer;
pub mod private;
pub mod server;
pub mod store;
pub mod sync;
pub mod throttle;
