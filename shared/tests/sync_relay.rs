//! Focused behaviours of the relay state machine: refusals, bad input,
//! broken storage, presence, eviction, saved sync states and the size of a
//! first sync. `sync_sim.rs` checks the whole system under faults; these pin
//! down single rules with hand-made frames.

use std::collections::HashMap;

use automerge::sync::{self, MessageVersion, SyncDoc as _};
use automerge::transaction::Transactable as _;
use automerge::{ActorId, AutoCommit, ROOT};
use medk_shared::actions;
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, TextTarget};
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::model::{ActivityField, Level};
use medk_shared::sync::client::{Client, Event};
use medk_shared::sync::message::{Message, PeerMetadata};
use medk_shared::sync::relay::{ConnId, EVICT_AFTER_MS, Effect, OpenAccess, Relay, StorageWrite, close};

fn doc_id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

/// A small document with a fixed actor.
fn small_doc() -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&[1u8; 16][..]));
    doc.put(ROOT, "title", "Дорожная карта").unwrap();
    doc.commit();
    doc
}

/// A realistic roadmap: 40 activities with descriptions, made one edit at a
/// time (so it has a history, as a real one does).
fn roadmap(activities: u8) -> AutoCommit {
    let section = RowId::from_random([200; 8]);
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Дорожная карта".into(),
            level: Level::School,
            territory: "МОУ СОШ №1".into(),
            year: Some(2025),
            columns: Level::School.default_columns(),
        },
        section.clone(),
    );
    let mut after: Option<RowId> = None;
    for i in 0..activities {
        let row = RowId::from_random([i; 8]);
        let insert = actions::insert_activity(&doc, &section, after.as_ref(), row.clone());
        let text = Edit::SetText {
            target: TextTarget::Activity(row.clone(), ActivityField::Description),
            value: format!("Мероприятие {i}: проведение педагогического совета по итогам четверти"),
        };
        doc.apply(vec![insert, text], i64::from(i), "add").unwrap();
        after = Some(row);
    }
    doc.automerge().clone()
}

/// A device talking to the relay over one connection.
struct Peer {
    client: Client,
    conn: ConnId,
    docs: HashMap<DocumentId, AutoCommit>,
}

/// The relay with instant, in-memory storage and connected [`Peer`]s.
struct Harness {
    relay: Relay,
    disk: HashMap<DocumentId, Vec<Vec<u8>>>,
    sync_states: HashMap<(DocumentId, String), Vec<u8>>,
    peers: Vec<Peer>,
    /// Every frame the relay sent: connection, message, size on the wire.
    sent: Vec<(ConnId, Message, usize)>,
    closed: Vec<(ConnId, u16)>,
    writes: usize,
    /// Writes that replaced every chunk with a snapshot.
    replaces: usize,
    /// Storage ids whose saved sync state was asked for, and whether one was found.
    state_loads: Vec<(String, bool)>,
    next_conn: ConnId,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            relay: Relay::new("relay".into(), None, Box::new(OpenAccess)),
            disk: HashMap::new(),
            sync_states: HashMap::new(),
            peers: Vec::new(),
            sent: Vec::new(),
            closed: Vec::new(),
            writes: 0,
            replaces: 0,
            state_loads: Vec::new(),
            next_conn: 1,
        }
    }

    /// Connects a new peer and completes the handshake; returns its index.
    fn join(&mut self, peer_id: &str, storage_id: Option<&str>) -> usize {
        let conn = self.next_conn;
        self.next_conn += 1;
        let mut client = Client::new(peer_id.into(), storage_id.map(Into::into));
        self.relay.connect(conn, "anyone");
        self.relay.receive(conn, &client.join());
        self.peers.push(Peer { client, conn, docs: HashMap::new() });
        self.settle();
        assert!(self.peers.last().unwrap().client.is_connected());
        self.peers.len() - 1
    }

    fn disconnect(&mut self, peer: usize) {
        let p = self.peers.remove(peer);
        self.relay.disconnect(p.conn);
        self.settle();
    }

    /// Runs storage, the relay and the peers until nothing moves.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut busy = false;
            while let Some(effect) = self.relay.poll() {
                busy = true;
                self.handle(effect);
            }
            for p in &mut self.peers {
                let ids: Vec<DocumentId> = p.docs.keys().copied().collect();
                for id in ids {
                    let d = p.docs.get_mut(&id).unwrap();
                    let heads = d.get_heads();
                    if let Some(frame) = p.client.outgoing(id, &mut d.sync(), &heads) {
                        busy = true;
                        self.relay.receive(p.conn, &frame);
                    }
                }
            }
            if !busy {
                return;
            }
        }
        panic!("did not settle");
    }

    fn handle(&mut self, effect: Effect) {
        match effect {
            Effect::Send { conn, frame } => {
                let message = Message::decode(&frame).expect("the relay sends valid frames");
                self.sent.push((conn, message, frame.len()));
                if let Some(p) = self.peers.iter_mut().find(|p| p.conn == conn) {
                    match p.client.receive(&frame).expect("a valid frame") {
                        Event::Sync { doc, message } => {
                            let d = p.docs.entry(doc).or_default();
                            p.client.apply(doc, &mut d.sync(), message).unwrap();
                        }
                        Event::Connected
                        | Event::None
                        | Event::Unavailable { .. }
                        | Event::Ephemeral { .. } => {}
                        Event::Refused { message } => panic!("refused: {message}"),
                    }
                }
            }
            Effect::Close { conn, code, .. } => {
                self.closed.push((conn, code));
                self.peers.retain(|p| p.conn != conn);
            }
            Effect::Claim { doc, .. } => self.relay.claimed(doc, Ok(())),
            Effect::Load { doc } => {
                let chunks = self.disk.get(&doc).cloned().unwrap_or_default();
                self.relay.loaded(doc, Ok(chunks));
            }
            Effect::LoadSyncState { doc, storage_id } => {
                let state = self.sync_states.get(&(doc, storage_id.clone())).cloned();
                self.state_loads.push((storage_id.clone(), state.is_some()));
                self.relay.sync_state_loaded(doc, &storage_id, state);
            }
            Effect::Write { doc, batch, writes } => {
                self.writes += 1;
                let chunks = self.disk.entry(doc).or_default();
                for w in writes {
                    match w {
                        StorageWrite::Append(b) => chunks.push(b),
                        StorageWrite::Replace(b) => {
                            self.replaces += 1;
                            *chunks = vec![b];
                        }
                    }
                }
                self.relay.written(doc, batch, Ok(()));
            }
            Effect::SaveSyncState { doc, storage_id, state } => {
                self.sync_states.insert((doc, storage_id), state);
            }
        }
    }

    /// Bytes of sync frames the relay sent on a connection for a document.
    fn sync_bytes_to(&self, conn: ConnId, doc: DocumentId) -> usize {
        self.sent
            .iter()
            .filter(|(c, m, _)| {
                *c == conn && matches!(m, Message::Sync { document_id, .. } if *document_id == doc)
            })
            .map(|(_, _, len)| len)
            .sum()
    }

    fn open(&mut self, peer: usize, doc: DocumentId, content: AutoCommit) {
        self.peers[peer].docs.insert(doc, content);
        self.settle();
    }
}

fn join_frame(peer: &str, versions: &[&str]) -> Vec<u8> {
    Message::Join {
        sender_id: peer.into(),
        metadata: PeerMetadata { storage_id: Some("s".into()), is_ephemeral: false },
        supported_protocol_versions: versions.iter().map(|v| v.to_string()).collect(),
    }
    .encode()
}

fn sync_frame(peer: &str, doc: DocumentId, data: Vec<u8>) -> Vec<u8> {
    Message::Sync { sender_id: peer.into(), target_id: "relay".into(), document_id: doc, data }.encode()
}

fn drain(relay: &mut Relay) -> Vec<Effect> {
    std::iter::from_fn(|| relay.poll()).collect()
}

/// The whole path: a document made on one device is stored once and reaches
/// a second device that starts empty; the second device's edit comes back.
#[test]
fn a_document_made_on_one_device_reaches_another_and_back() {
    use automerge::ReadDoc as _;
    let mut h = Harness::new();
    let (a, b) = (h.join("a", Some("sa")), h.join("b", Some("sb")));
    let id = doc_id(1);
    h.open(a, id, small_doc());
    assert_eq!(h.disk.get(&id).map(Vec::len), Some(1), "stored once");
    h.open(b, id, AutoCommit::new());
    let title = |h: &Harness, peer: usize| {
        h.peers[peer].docs[&id].get(ROOT, "title").unwrap().and_then(|(v, _)| v.into_string().ok())
    };
    assert_eq!(title(&h, b).as_deref(), Some("Дорожная карта"));

    h.peers[b].docs.get_mut(&id).unwrap().put(ROOT, "title", "Исправлено").unwrap();
    h.settle();
    assert_eq!(title(&h, a).as_deref(), Some("Исправлено"));
    let heads = |h: &mut Harness, peer: usize| h.peers[peer].docs.get_mut(&id).unwrap().get_heads();
    assert_eq!(heads(&mut h, a), heads(&mut h, b));
}

#[test]
fn a_request_for_an_unknown_document_is_answered_doc_unavailable() {
    let mut h = Harness::new();
    let a = h.join("a", Some("dev-a"));
    h.open(a, doc_id(1), AutoCommit::new());
    let unavailable: Vec<&Message> = h
        .sent
        .iter()
        .filter(|(_, m, _)| matches!(m, Message::DocUnavailable { .. }))
        .map(|(_, m, _)| m)
        .collect();
    assert_eq!(
        unavailable,
        vec![&Message::DocUnavailable {
            sender_id: "relay".into(),
            target_id: "a".into(),
            document_id: doc_id(1)
        }]
    );
    assert_eq!(h.writes, 0, "nothing to store");
    assert!(h.disk.is_empty());
}

#[test]
fn a_message_before_join_closes_with_protocol_error() {
    let mut relay = Relay::new("relay".into(), None, Box::new(OpenAccess));
    relay.connect(1, "anyone");
    relay.receive(
        1,
        &sync_frame(
            "a",
            doc_id(1),
            small_doc().sync().generate_sync_message(&mut sync::State::new()).unwrap().encode(),
        ),
    );
    let effects = drain(&mut relay);
    assert!(
        matches!(effects.as_slice(), [Effect::Close { conn: 1, code: close::PROTOCOL_ERROR, .. }]),
        "{effects:?}"
    );
    assert_eq!(relay.connections(), 0);
    assert_eq!(relay.documents_in_memory(), 0, "nothing was loaded for it");
}

#[test]
fn an_unsupported_protocol_version_gets_an_error_then_a_close() {
    let mut relay = Relay::new("relay".into(), None, Box::new(OpenAccess));
    relay.connect(1, "anyone");
    relay.receive(1, &join_frame("a", &["0", "2"]));
    let effects = drain(&mut relay);
    match effects.as_slice() {
        [Effect::Send { conn: 1, frame }, Effect::Close { conn: 1, code: close::PROTOCOL_ERROR, .. }] => {
            assert!(matches!(Message::decode(frame).unwrap(), Message::Error { .. }));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(relay.connections(), 0);
}

#[test]
fn malformed_sync_data_closes_with_invalid_data_and_stores_nothing() {
    let stored = small_doc().save();
    // A real sync message carrying changes the relay lacks, cut short.
    let mut newer = small_doc();
    newer.put(ROOT, "year", 2026).unwrap();
    let whole = newer.sync().generate_sync_message(&mut sync::State::new()).unwrap().encode();
    for data in [vec![0x42, 1, 2, 3], whole[..whole.len() / 2].to_vec(), vec![]] {
        let mut h = Harness::new();
        h.disk.insert(doc_id(1), vec![stored.clone()]);
        let a = h.join("a", None);
        let conn = h.peers[a].conn;
        h.relay.receive(conn, &sync_frame("a", doc_id(1), data.clone()));
        h.settle();
        assert_eq!(h.closed, vec![(conn, close::INVALID_DATA)], "data {data:?}");
        assert_eq!(h.writes, 0);
        assert_eq!(h.disk[&doc_id(1)], vec![stored.clone()], "the stored document is unchanged");
        assert_eq!(h.relay.connections(), 0);
    }
}

/// A well-formed sync message whose change chunk is not a change: what it
/// would add cannot be counted before it is applied, so it is malformed
/// Automerge data (1007) and nothing is stored.
#[test]
fn a_change_that_does_not_parse_closes_its_connection() {
    let stored = small_doc().save();
    let bogus_change = sync::Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: vec![vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 1, 5, 9, 9, 9, 9, 9]].into(),
        flags: None,
        version: MessageVersion::V1,
    }
    .encode();
    let mut h = Harness::new();
    h.disk.insert(doc_id(1), vec![stored.clone()]);
    let a = h.join("a", None);
    let conn = h.peers[a].conn;
    h.relay.receive(conn, &sync_frame("a", doc_id(1), bogus_change));
    h.settle();
    assert_eq!(h.closed, vec![(conn, close::INVALID_DATA)]);
    assert_eq!(h.writes, 0);
    assert_eq!(h.disk[&doc_id(1)], vec![stored]);
}

#[test]
fn a_broken_stored_document_is_unavailable_and_left_untouched() {
    let mut h = Harness::new();
    let garbage = vec![b"not an automerge document".to_vec(), vec![0x85, 0x6f, 0x4a, 0x83, 0, 0]];
    h.disk.insert(doc_id(1), garbage.clone());
    let a = h.join("a", Some("dev-a"));
    // A peer that has the document offers its changes: they are not stored
    // over (or after) the bytes someone has to look at.
    h.open(a, doc_id(1), small_doc());
    assert!(
        h.sent.iter().any(
            |(_, m, _)| matches!(m, Message::DocUnavailable { document_id, .. } if *document_id == doc_id(1))
        ),
        "{:?}",
        h.sent
    );
    assert!(!h.sent.iter().any(|(_, m, _)| matches!(m, Message::Sync { .. })), "nothing is synced from it");
    assert_eq!(h.writes, 0);
    assert_eq!(h.disk[&doc_id(1)], garbage);
}

#[test]
fn ephemeral_messages_reach_each_other_peer_once() {
    let mut h = Harness::new();
    h.disk.insert(doc_id(1), vec![small_doc().save()]);
    let peers: Vec<usize> = ["a", "b", "c"].iter().map(|p| h.join(p, None)).collect();
    for &p in &peers {
        h.open(p, doc_id(1), AutoCommit::new());
    }
    let conns: Vec<ConnId> = peers.iter().map(|&p| h.peers[p].conn).collect();
    let presence = |sender: &str, session: &str, count: u64| {
        Message::Ephemeral {
            sender_id: sender.into(),
            target_id: "relay".into(),
            document_id: doc_id(1),
            session_id: session.into(),
            count,
            data: vec![1, 2, 3],
        }
        .encode()
    };
    let delivered = |h: &mut Harness, from: ConnId, frame: Vec<u8>| -> Vec<ConnId> {
        h.sent.clear();
        h.relay.receive(from, &frame);
        h.settle();
        let mut to: Vec<ConnId> = h
            .sent
            .iter()
            .filter(|(_, m, _)| matches!(m, Message::Ephemeral { .. }))
            .map(|(c, _, _)| *c)
            .collect();
        to.sort();
        to
    };
    assert_eq!(delivered(&mut h, conns[0], presence("a", "s1", 1)), vec![conns[1], conns[2]]);
    // The same message again (or an older one) is not relayed again.
    assert_eq!(delivered(&mut h, conns[0], presence("a", "s1", 1)), Vec::<ConnId>::new());
    assert_eq!(delivered(&mut h, conns[0], presence("a", "s2", 1)), vec![conns[1], conns[2]]);
    assert_eq!(delivered(&mut h, conns[0], presence("a", "s1", 2)), vec![conns[1], conns[2]]);
    assert_eq!(delivered(&mut h, conns[0], presence("a", "s1", 2)), Vec::<ConnId>::new());
    // Another session of the same sender counts on its own.
    assert_eq!(delivered(&mut h, conns[0], presence("a", "s3", 1)), vec![conns[1], conns[2]]);
    assert_eq!(delivered(&mut h, conns[1], presence("b", "s1", 1)), vec![conns[0], conns[2]]);
    // What reaches a peer names it as the target and keeps the sender.
    h.sent.clear();
    h.relay.receive(conns[2], &presence("c", "x", 5));
    h.settle();
    for (conn, m, _) in &h.sent {
        let Message::Ephemeral { sender_id, target_id, count, .. } = m else { continue };
        assert_eq!((sender_id.as_str(), *count), ("c", 5));
        let expected = if *conn == conns[0] { "a" } else { "b" };
        assert_eq!(target_id, expected);
    }
}

#[test]
fn an_idle_document_is_evicted_after_the_timeout() {
    let mut h = Harness::new();
    h.relay.tick(1_000);
    let a = h.join("a", Some("dev-a"));
    h.open(a, doc_id(1), small_doc());
    assert_eq!(h.relay.documents_in_memory(), 1);
    // Open by a peer: kept however long.
    h.relay.tick(1_000 + 10 * EVICT_AFTER_MS);
    assert_eq!(h.relay.documents_in_memory(), 1);
    let now = 1_000 + 10 * EVICT_AFTER_MS;
    h.disconnect(a);
    h.relay.tick(now + EVICT_AFTER_MS - 1);
    assert_eq!(h.relay.documents_in_memory(), 1, "not yet");
    h.relay.tick(now + EVICT_AFTER_MS);
    assert_eq!(h.relay.documents_in_memory(), 0, "evicted");
    // It comes back from storage when asked for.
    let b = h.join("b", None);
    h.open(b, doc_id(1), AutoCommit::new());
    let got = h.peers[b].docs.get_mut(&doc_id(1)).unwrap().get_heads();
    assert_eq!(got, small_doc().get_heads());
}

#[test]
fn a_returning_device_resumes_from_its_saved_sync_state() {
    let mut h = Harness::new();
    let doc = roadmap(40);
    h.disk.insert(doc_id(1), vec![doc.clone().save()]);
    let first = h.join("tab-1", Some("laptop"));
    let first_conn = h.peers[first].conn;
    h.open(first, doc_id(1), AutoCommit::new());
    let full = h.sync_bytes_to(first_conn, doc_id(1));
    let mut synced = h.peers[first].docs[&doc_id(1)].clone();
    assert_eq!(synced.get_heads(), doc.clone().get_heads());
    assert_eq!(h.state_loads, vec![("laptop".to_string(), false)], "nothing saved yet");

    // Leaving saves what the relay knows the device has.
    h.disconnect(first);
    let saved = h.sync_states.get(&(doc_id(1), "laptop".into())).expect("saved on leaving").clone();
    assert_eq!(sync::State::decode(&saved).unwrap().shared_heads, synced.get_heads());

    // The same device (new tab, new peer id) comes back with the document.
    let again = h.join("tab-2", Some("laptop"));
    let conn = h.peers[again].conn;
    let heads = synced.get_heads();
    let frame = h.peers[again].client.outgoing(doc_id(1), &mut synced.sync(), &heads).unwrap();
    h.peers[again].docs.insert(doc_id(1), synced);
    h.relay.receive(conn, &frame);
    // The saved state is read before the message is handled: nothing is
    // sent for the document until it is there.
    let effects = drain(&mut h.relay);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadSyncState { storage_id, .. } if storage_id == "laptop")),
        "{effects:?}"
    );
    assert!(!effects.iter().any(|e| matches!(e, Effect::Send { .. })), "{effects:?}");
    for e in effects {
        h.handle(e);
    }
    h.settle();
    assert_eq!(h.state_loads.last(), Some(&("laptop".to_string(), true)));
    let second = h.sync_bytes_to(conn, doc_id(1));
    println!("first sync {full} bytes, resumed sync {second} bytes");
    assert!(second > 0, "the relay answered");
    assert!(
        second * 4 < full,
        "a resumed sync ({second} bytes) is far smaller than the first ({full} bytes)"
    );
    assert_eq!(h.writes, 0, "nothing new to store");
}

#[test]
fn the_first_sync_to_an_empty_peer_costs_about_the_saved_size() {
    let mut h = Harness::new();
    let mut doc = roadmap(40);
    let saved = doc.save();
    h.disk.insert(doc_id(1), vec![saved.clone()]);
    let a = h.join("a", Some("dev-a"));
    let conn = h.peers[a].conn;
    h.open(a, doc_id(1), AutoCommit::new());
    assert_eq!(h.peers[a].docs.get_mut(&doc_id(1)).unwrap().get_heads(), doc.get_heads());
    let wire = h.sync_bytes_to(conn, doc_id(1));
    println!("first sync {wire} bytes on the wire, save() {} bytes", saved.len());
    assert!(
        wire * 10 <= saved.len() * 12,
        "the first sync sent {wire} bytes for a document that saves to {} bytes",
        saved.len()
    );
}

#[test]
fn appended_changes_are_compacted_into_one_snapshot() {
    let mut h = Harness::new();
    let a = h.join("a", Some("dev-a"));
    h.open(a, doc_id(1), small_doc());
    // Text that does not compress, 8 KB per edit: past 64 KB of appended
    // chunks the relay rewrites the document as one snapshot.
    let mut seed = 12345u32;
    for i in 0..12 {
        let text: String = (0..8_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from(b'a' + (seed >> 16) as u8 % 26)
            })
            .collect();
        h.peers[a].docs.get_mut(&doc_id(1)).unwrap().put(ROOT, format!("note{i}"), text).unwrap();
        h.settle();
    }
    assert!(h.replaces >= 1, "no snapshot after {} writes", h.writes);
    let chunks = &h.disk[&doc_id(1)];
    assert!(chunks.len() < 12, "{} chunks", chunks.len());
    let stored = automerge::Automerge::load(&chunks.concat()).unwrap();
    let mut mine = h.peers[a].docs[&doc_id(1)].clone();
    assert_eq!(stored.get_heads(), mine.get_heads());
    // A newcomer gets all of it from the compacted store.
    h.disconnect(a);
    h.relay.tick(10 * EVICT_AFTER_MS);
    assert_eq!(h.relay.documents_in_memory(), 0);
    let b = h.join("b", None);
    h.open(b, doc_id(1), AutoCommit::new());
    assert_eq!(h.peers[b].docs.get_mut(&doc_id(1)).unwrap().get_heads(), mine.get_heads());
}
