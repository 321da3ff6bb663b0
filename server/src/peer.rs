//! The server as a peer of its own relay: how a change the server makes
//! itself (a curator assigned through the API or an invitation, a
//! coordinator's adoption date) reaches a document like any device's.
//!
//! A [`ServerPeer`] is one in-process connection to the hub, signed in as
//! [`SERVER_USER`], speaking the same sync protocol as the app (the shared
//! [`Client`]): it fetches the relay's copy of a document, the caller
//! changes it, and the change goes back through the relay, which vets it,
//! stores it and passes it on to every device that has the document open.
//! Nothing is written behind the relay's back, so a document in the relay's
//! memory never goes stale.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use automerge::AutoCommit;
use bytes::Bytes;
use medk_shared::ids::DocumentId;
use medk_shared::sync::client::{Client, Event};
use tokio::sync::mpsc;

use crate::sync::{Input, Outbound, Outbox, SyncHub};

/// Who the server's own connections are to the relay. Person ids are
/// base58, so no person can be it.
pub const SERVER_USER: &str = "medk-server";

/// How long one step (a catch-up, a push) may wait for the relay.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// The time (Unix ms) the server stamps its own changes with.
pub fn now_ms() -> i64 {
    i64::try_from(crate::accounts::now()).unwrap_or(0).saturating_mul(1000)
}

/// Why a server-made change did not reach a document.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("документ не найден на сервере")]
    Unavailable,
    #[error("{0}")]
    Refused(String),
    #[error("сервер не успел записать изменение; повторите позже")]
    Timeout,
    #[error("сервер останавливается; повторите позже")]
    Gone,
    #[error("ошибка синхронизации на сервере")]
    Protocol(String),
}

/// One in-process connection of the server to its relay.
pub struct ServerPeer {
    conn: u64,
    inputs: mpsc::UnboundedSender<Input>,
    frames: mpsc::UnboundedReceiver<Outbound>,
    queued: Arc<AtomicUsize>,
    client: Client,
}

impl SyncHub {
    /// Connects the server to its relay as [`SERVER_USER`].
    pub async fn server_peer(&self) -> Result<ServerPeer, PeerError> {
        let (conn, inputs) = (self.next_conn(), self.inputs());
        let (tx, frames) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let out = Outbox { tx, queued: queued.clone(), session: String::new(), user: SERVER_USER.into() };
        inputs.send(Input::Open { conn, out, user: SERVER_USER.into() }).map_err(|_| PeerError::Gone)?;
        let client = Client::new(format!("{SERVER_USER}-{}-{conn}", std::process::id()), None);
        let mut peer = ServerPeer { conn, inputs, frames, queued, client };
        let join = peer.client.join();
        peer.send(join)?;
        tokio::time::timeout(STEP_TIMEOUT, async {
            loop {
                match peer.next_event().await? {
                    Event::Connected => return Ok(()),
                    Event::Refused { message } => return Err(PeerError::Refused(message)),
                    _ => {}
                }
            }
        })
        .await
        .map_err(|_| PeerError::Timeout)??;
        Ok(peer)
    }
}

impl ServerPeer {
    /// Brings `doc` up to the relay's copy of document `id`. Start from an
    /// empty document to ask for one that must exist
    /// ([`PeerError::Unavailable`] if the relay has none), or from a
    /// well-known genesis (a school's file) to create it if need be.
    pub async fn catch_up(&mut self, id: DocumentId, doc: &mut AutoCommit) -> Result<(), PeerError> {
        self.exchange(id, doc, |client, doc| {
            // Everything the relay said it has is here.
            client
                .relay_heads(&id)
                .is_some_and(|heads| heads.iter().all(|h| doc.get_change_by_hash(h).is_some()))
        })
        .await
    }

    /// Sends what `doc` has that the relay lacks (the server's change) and
    /// waits until the relay has taken it: it answers only once the change
    /// is durable.
    pub async fn push(&mut self, id: DocumentId, doc: &mut AutoCommit) -> Result<(), PeerError> {
        self.exchange(id, doc, |client, doc| {
            client.relay_heads(&id).is_some_and(|heads| {
                heads.iter().all(|h| doc.get_change_by_hash(h).is_some()) && doc.get_changes(heads).is_empty()
            })
        })
        .await
    }

    /// Syncs `doc` with the relay until `done` holds (checked after every
    /// message the relay sends).
    async fn exchange(
        &mut self,
        id: DocumentId,
        doc: &mut AutoCommit,
        done: impl Fn(&Client, &mut AutoCommit) -> bool,
    ) -> Result<(), PeerError> {
        let step = async {
            self.send_outgoing(id, doc)?;
            loop {
                match self.next_event().await? {
                    Event::Sync { doc: d, message } if d == id => {
                        self.client
                            .apply(id, &mut doc.sync(), message)
                            .map_err(|e| PeerError::Protocol(e.to_string()))?;
                        self.send_outgoing(id, doc)?;
                        if done(&self.client, doc) {
                            return Ok(());
                        }
                    }
                    Event::Unavailable { doc: d } if d == id => return Err(PeerError::Unavailable),
                    Event::ChangesRefused { doc: d, refused } if d == id => {
                        tracing::warn!(%id, "the relay refused the server's own change: {}", refused.detail);
                        return Err(PeerError::Refused(refused.message));
                    }
                    Event::Refused { message } => return Err(PeerError::Refused(message)),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(STEP_TIMEOUT, step).await.map_err(|_| PeerError::Timeout)?
    }

    fn send_outgoing(&mut self, id: DocumentId, doc: &mut AutoCommit) -> Result<(), PeerError> {
        self.client.outgoing(id, doc).into_iter().try_for_each(|frame| self.send(frame))
    }

    fn send(&self, frame: Vec<u8>) -> Result<(), PeerError> {
        let input = Input::Frame { conn: self.conn, bytes: Bytes::from(frame), _permit: None };
        self.inputs.send(input).map_err(|_| PeerError::Gone)
    }

    async fn next_event(&mut self) -> Result<Event, PeerError> {
        match self.frames.recv().await {
            Some(Outbound::Frame(frame)) => {
                self.queued.fetch_sub(frame.len(), Ordering::Relaxed);
                self.client.receive(&frame).map_err(|e| PeerError::Protocol(e.to_string()))
            }
            Some(Outbound::Close(_, reason)) => Err(PeerError::Protocol(format!("closed: {reason}"))),
            None => Err(PeerError::Gone),
        }
    }
}

impl Drop for ServerPeer {
    fn drop(&mut self) {
        let _ = self.inputs.send(Input::Closed { conn: self.conn });
    }
}
