//! `medk-server`: the relay behind the medk app.
//!
//! It owns the network and storage I/O; the protocol logic lives in
//! `medk-shared`. Today it serves the built app ([`http`]); the sync issue adds
//! the `/sync` WebSocket relay, keeping documents under the data dir.

pub mod http;
pub mod server;
