//! A device's side of the protocol: the handshake and one Automerge sync
//! state per document, with the relay as the only peer. It owns no
//! document: callers pass the document in each call, so the app can sync
//! the roadmap on screen and the ones only in IndexedDB alike.
//!
//! What the relay takes in one message is bounded
//! ([`super::relay::MAX_OPS_PER_MESSAGE`]); a device with more to send (a
//! roadmap made or imported offline, a long day's edits) sends it in
//! pieces, each within the bound, in causal order, all at once: the relay
//! applies them in turn at its pace, and gathers a new document's pieces
//! until it is whole.

use std::collections::{BTreeSet, HashMap};

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, Automerge, ChangeHash};

use super::message::{DecodeError, Message, PROTOCOL_VERSION, PeerId, PeerMetadata};
use crate::ids::DocumentId;

/// What a frame from the relay means for the caller.
#[derive(Debug)]
pub enum Event {
    /// The handshake finished; documents can be synced now.
    Connected,
    /// Apply it with [`Client::apply`].
    Sync { doc: DocumentId, message: sync::Message },
    /// The relay does not have the document (or will not show it).
    Unavailable { doc: DocumentId },
    /// The relay did not take this device's changes to the document, and
    /// takes none for the rest of the connection: `message` says why (in
    /// Russian), `detail` for a details line.
    ChangesRefused { doc: DocumentId, refused: Refused },
    /// Someone else's presence data for a document.
    Ephemeral { doc: DocumentId, sender: PeerId, session: String, data: Vec<u8> },
    /// The relay refused us; it closes the connection after this.
    Refused { message: String },
    /// Nothing to do.
    None,
}

/// Why a frame from the relay was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("bad frame from the relay: {0}")]
    Frame(#[from] DecodeError),
    #[error("bad sync message from the relay: {0}")]
    SyncMessage(String),
    #[error("the relay sent `{0}` before the handshake")]
    BeforeHandshake(&'static str),
}

/// Per-document state.
#[derive(Default)]
struct DocSync {
    state: sync::State,
    /// `request` was sent (we had nothing) and not yet answered.
    requested: bool,
}

/// Why the relay did not take this device's changes to a document
/// ([`Message::DocRefused`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// For the person, in Russian.
    pub message: String,
    /// The technical detail.
    pub detail: String,
    /// The same would be refused on the next connection too: the app takes
    /// no more edits to the document.
    pub lasting: bool,
}

/// What the relay is known to hold of a document on the live connection
/// ([`Client::relay_holds`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayHolds {
    /// Heads both sides have: every change up to them is durable on the relay.
    pub shared: Vec<ChangeHash>,
    /// The relay's own heads, as it last said.
    pub heads: Vec<ChangeHash>,
}

/// The client protocol machine for one connection's lifetime (reuse it
/// across reconnects: call [`Client::join`] on each new socket).
pub struct Client {
    /// Most a message may add ([`super::chunks::Size::cost`]).
    piece: u64,
    peer_id: PeerId,
    metadata: PeerMetadata,
    relay: Option<PeerId>,
    docs: HashMap<DocumentId, DocSync>,
    ephemeral_count: u64,
    session: String,
}

impl Client {
    /// `peer_id` must be unique per connection (a tab); `storage_id` names
    /// the device's storage so the relay can keep our sync state.
    pub fn new(peer_id: PeerId, storage_id: Option<String>) -> Self {
        let session = format!("{peer_id}-session");
        Client {
            piece: super::relay::MAX_OPS_PER_MESSAGE,
            peer_id,
            metadata: PeerMetadata { storage_id, is_ephemeral: false },
            relay: None,
            docs: HashMap::new(),
            ephemeral_count: 0,
            session,
        }
    }

    /// The same client, sending at most `cost` in one message (tests use a
    /// small one; the relay's is [`super::relay::MAX_OPS_PER_MESSAGE`]).
    pub fn with_piece_limit(mut self, cost: u64) -> Self {
        self.piece = cost.max(1);
        self
    }

    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// True between the relay's `peer` answer and the socket closing.
    pub fn is_connected(&self) -> bool {
        self.relay.is_some()
    }

    /// The first frame on a new socket. Sync states start afresh (keeping
    /// what both sides are known to share), as Automerge expects after a
    /// reconnect.
    pub fn join(&mut self) -> Vec<u8> {
        self.relay = None;
        Message::Join {
            sender_id: self.peer_id.clone(),
            metadata: self.metadata.clone(),
            supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
        }
        .encode()
    }

    /// The socket closed.
    pub fn disconnected(&mut self) {
        self.relay = None;
        for d in self.docs.values_mut() {
            let shared = std::mem::take(&mut d.state.shared_heads);
            d.state = sync::State::new();
            d.state.shared_heads = shared;
            d.requested = false;
        }
    }

    /// Interprets one frame from the relay.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Event, ClientError> {
        let message = Message::decode(frame)?;
        match message {
            Message::Peer { sender_id, .. } => {
                self.relay = Some(sender_id);
                Ok(Event::Connected)
            }
            Message::Error { message } => Ok(Event::Refused { message }),
            Message::Sync { document_id, data, .. } | Message::Request { document_id, data, .. } => {
                if self.relay.is_none() {
                    return Err(ClientError::BeforeHandshake("sync"));
                }
                let message =
                    sync::Message::decode(&data).map_err(|e| ClientError::SyncMessage(e.to_string()))?;
                Ok(Event::Sync { doc: document_id, message })
            }
            Message::DocUnavailable { document_id, .. } => {
                if let Some(d) = self.docs.get_mut(&document_id) {
                    d.requested = false;
                }
                Ok(Event::Unavailable { doc: document_id })
            }
            Message::DocRefused { document_id, message, detail, lasting, .. } => {
                Ok(Event::ChangesRefused { doc: document_id, refused: Refused { message, detail, lasting } })
            }
            Message::Ephemeral { document_id, sender_id, session_id, data, .. } => {
                Ok(Event::Ephemeral { doc: document_id, sender: sender_id, session: session_id, data })
            }
            _ => Ok(Event::None),
        }
    }

    /// Applies a sync message from the relay to the document.
    pub fn apply(
        &mut self,
        id: DocumentId,
        doc: &mut impl SyncDoc,
        message: sync::Message,
    ) -> Result<(), automerge::AutomergeError> {
        let d = self.docs.entry(id).or_default();
        d.requested = false;
        doc.receive_sync_message(&mut d.state, message)
    }

    /// The frames to send for a document, if it has anything to say: one,
    /// or the pieces of a backlog too big for one message. An empty
    /// document asks with `request` (the relay answers `doc-unavailable` if
    /// it has nothing).
    pub fn outgoing(&mut self, id: DocumentId, doc: &mut AutoCommit) -> Vec<Vec<u8>> {
        let Some(relay) = self.relay.clone() else { return Vec::new() };
        let heads = doc.get_heads();
        let d = self.docs.entry(id).or_default();
        let sent_before = d.state.sent_hashes.clone();
        let Some(message) = doc.sync().generate_sync_message(&mut d.state) else { return Vec::new() };
        let request = heads.is_empty() && d.state.their_heads.is_none();
        if request {
            d.requested = true;
        }
        let relay_heads = d.state.their_heads.clone();
        pieces(doc.document(), message, &sent_before, relay_heads.as_deref(), self.piece)
            .into_iter()
            .map(|message| {
                let (sender_id, target_id, data) = (self.peer_id.clone(), relay.clone(), message.encode());
                if request {
                    Message::Request { sender_id, target_id, document_id: id, data }.encode()
                } else {
                    Message::Sync { sender_id, target_id, document_id: id, data }.encode()
                }
            })
            .collect()
    }

    /// The heads the relay last said it has: everything in them is durable
    /// on the server (it answers only after writing).
    pub fn relay_heads(&self, id: &DocumentId) -> Option<&[ChangeHash]> {
        self.docs.get(id)?.state.their_heads.as_deref()
    }

    /// Heads both sides are known to have, once the relay has answered on
    /// this connection: every change up to them is durable on the relay.
    pub fn shared_heads(&self, id: &DocumentId) -> Option<&[ChangeHash]> {
        let d = self.docs.get(id)?;
        d.state.their_heads.as_ref()?;
        Some(&d.state.shared_heads)
    }

    /// What the relay is known to hold of a document, once it has answered
    /// on this connection.
    pub fn relay_holds(&self, id: &DocumentId) -> Option<RelayHolds> {
        let d = self.docs.get(id)?;
        let heads = d.state.their_heads.clone()?;
        Some(RelayHolds { shared: d.state.shared_heads.clone(), heads })
    }

    /// Whether the relay said, on this connection, that it will not take this
    /// device's changes to the document (the signed-in person may only read
    /// it). Local changes then stay on the device, unsent.
    pub fn relay_read_only(&self, id: &DocumentId) -> bool {
        self.docs.get(id).is_some_and(|d| d.state.is_peer_read_only())
    }

    /// Stops syncing a document (it was deleted on this device).
    pub fn forget(&mut self, id: &DocumentId) {
        self.docs.remove(id);
    }

    /// A presence frame for everyone else who has the document open.
    pub fn ephemeral(&mut self, id: DocumentId, data: Vec<u8>) -> Option<Vec<u8>> {
        let relay = self.relay.clone()?;
        self.ephemeral_count += 1;
        let m = Message::Ephemeral {
            sender_id: self.peer_id.clone(),
            target_id: relay,
            document_id: id,
            session_id: self.session.clone(),
            count: self.ephemeral_count,
            data,
        };
        Some(m.encode())
    }
}

/// What to send for `message`: itself, if it adds at most `limit`
/// ([`super::chunks::Size::cost`]) and is not a whole document the relay
/// mostly has; else the changes the relay lacks (as far as its heads say,
/// less those `in_flight`) in pieces of at most `limit` each, in the
/// document's order (causal: every change after those it depends on),
/// each with the message's heads, needs and summary of what this side has.
/// A change bigger than `limit` goes alone (and is refused).
///
/// Automerge sends the whole document when the peer lacks more than a
/// third of its changes: for a roadmap made of a few big changes (an
/// import) that would be every edit, counted by the relay as the whole
/// roadmap again.
fn pieces(
    doc: &Automerge,
    message: sync::Message,
    in_flight: &BTreeSet<ChangeHash>,
    relay_heads: Option<&[ChangeHash]>,
    limit: u64,
) -> Vec<sync::Message> {
    // A whole document is the cheapest first sync, when the relay has
    // nothing and nothing is on its way to it yet.
    let whole_document = message.changes.iter().any(|chunk| chunk.get(8) == Some(&0));
    let first = relay_heads.is_none_or(<[ChangeHash]>::is_empty) && in_flight.is_empty();
    let mut inflate = 4 * super::message::MAX_MESSAGE_BYTES;
    let size = super::chunks::count_all(message.changes.iter(), &mut inflate);
    if size.is_ok_and(|size| size.cost() <= limit) && (!whole_document || first) {
        return vec![message];
    }
    let known: Vec<ChangeHash> = relay_heads
        .unwrap_or_default()
        .iter()
        .filter(|head| doc.get_change_meta_by_hash(head).is_some())
        .copied()
        .collect();
    let mut pieces: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut cost = 0;
    for change in doc.get_changes(&known).into_iter().filter(|c| !in_flight.contains(&c.hash())) {
        let this = super::chunks::Size::change(change.len()).cost();
        if pieces.is_empty() || cost + this > limit {
            pieces.push(Vec::new());
            cost = 0;
        }
        cost += this;
        if let Some(piece) = pieces.last_mut() {
            piece.push(change.raw_bytes().to_vec());
        }
    }
    let with = |changes: Vec<Vec<u8>>| sync::Message {
        heads: message.heads.clone(),
        need: message.need.clone(),
        have: message.have.clone(),
        changes: changes.into(),
        flags: message.flags,
        version: sync::MessageVersion::V1,
    };
    if pieces.is_empty() {
        // Nothing the relay lacks after all: what the message says but its changes.
        return vec![with(Vec::new())];
    }
    pieces.into_iter().map(with).collect()
}
