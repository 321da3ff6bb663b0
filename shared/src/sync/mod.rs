//! Sync with automerge-repo peers (protocol v1), without I/O.
//!
//! [`message`] is the wire format; [`relay`] is the server's state machine,
//! [`client`] a device's side of the protocol and [`device`] its whole sync
//! service around it; [`chunks`] counts what a message would add before the
//! relay applies it. The machines take frames, timers and storage results in
//! and hand back what to send or store, so `medk-server` (tokio), the app
//! (browser WebSocket) and the simulation tests drive the same code.

pub mod chunks;
pub mod client;
pub mod device;
pub mod message;
pub mod presence;
pub mod relay;
