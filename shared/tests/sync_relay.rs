//! Focused behaviours of the relay state machine: refusals, bad input,
//! broken storage, presence, eviction, saved sync states and the size of a
//! first sync. `sync_sim.rs` checks the whole system under faults; these pin
//! down single rules with hand-made frames.

use std::collections::HashMap;

use automerge::sync::{self, MessageVersion, SyncDoc as _};
use automerge::transaction::Transactable as _;
use automerge::{ActorId, AutoCommit, ROOT, ReadDoc as _};
use medk_shared::access::Level;
use medk_shared::actions;
use medk_shared::doc::{Edit, NewRoadmap, RoadmapDoc, TextTarget};
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::model::ActivityField;
use medk_shared::sync::chunks;
use medk_shared::sync::client::{Client, Event};
use medk_shared::sync::message::{Message, PeerMetadata};
use medk_shared::sync::relay::{
    Access, ConnId, EVICT_AFTER_MS, Effect, Limits, Loaded, OpenAccess, Refusal, Relay, StorageWrite, Vetter,
    close,
};

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
    /// What each person has added to each document ([`StorageWrite::Share`]).
    shares: HashMap<(DocumentId, String), u64>,
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
    /// Who the next peer that joins is signed in as.
    user: String,
    /// Registrations asked for ([`Effect::Claim`]) and not answered yet,
    /// when `answer_claims` is off.
    claims: Vec<(DocumentId, String)>,
    answer_claims: bool,
    /// Jobs handed out ([`Effect::Apply`]) and not run yet, when `run_jobs`
    /// is off.
    jobs: Vec<(DocumentId, medk_shared::sync::relay::Job)>,
    run_jobs: bool,
    /// What each sync frame a peer sent adds ([`chunks::Size::cost`]), by connection.
    uploads: Vec<(ConnId, u64)>,
    /// The relay's clock, as [`Harness::settle_for`] moves it.
    now: u64,
}

impl Harness {
    fn new() -> Harness {
        Harness::over(Relay::new("relay".into(), None, Box::new(OpenAccess)))
    }

    fn over(relay: Relay) -> Harness {
        Harness {
            relay,
            disk: HashMap::new(),
            shares: HashMap::new(),
            sync_states: HashMap::new(),
            peers: Vec::new(),
            sent: Vec::new(),
            closed: Vec::new(),
            writes: 0,
            replaces: 0,
            state_loads: Vec::new(),
            next_conn: 1,
            user: "anyone".into(),
            claims: Vec::new(),
            answer_claims: true,
            jobs: Vec::new(),
            run_jobs: true,
            uploads: Vec::new(),
            now: 0,
        }
    }

    /// Frames of one kind the relay sent to `conn`.
    fn sent_to(&self, conn: ConnId, kind: fn(&Message) -> bool) -> usize {
        self.sent.iter().filter(|(c, m, _)| *c == conn && kind(m)).count()
    }

    /// Connects a new peer and completes the handshake; returns its index.
    fn join(&mut self, peer_id: &str, storage_id: Option<&str>) -> usize {
        let conn = self.next_conn;
        self.next_conn += 1;
        let mut client = Client::new(peer_id.into(), storage_id.map(Into::into));
        self.relay.connect(conn, self.user.clone());
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
                    for frame in p.client.outgoing(id, d) {
                        busy = true;
                        self.uploads.push((p.conn, cost_of(&frame)));
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
                        Event::Unavailable { doc } => {
                            p.docs.remove(&doc);
                            p.client.forget(&doc);
                        }
                        Event::Connected
                        | Event::None
                        | Event::Ephemeral { .. }
                        | Event::ChangesRefused { .. } => {}
                        Event::Refused { message } => panic!("refused: {message}"),
                    }
                }
            }
            Effect::Close { conn, code, .. } => {
                self.closed.push((conn, code));
                self.peers.retain(|p| p.conn != conn);
            }
            Effect::Claim { doc, user } => {
                if self.answer_claims {
                    self.relay.claimed(doc, Ok(()));
                } else {
                    self.claims.push((doc, user));
                }
            }
            Effect::Load { doc } => {
                let chunks = self.disk.get(&doc).cloned().unwrap_or_default();
                let shares =
                    self.shares.iter().filter(|((d, _), _)| *d == doc).map(|((_, p), ops)| (p.clone(), *ops));
                self.relay.loaded(doc, Ok(Loaded::parse(chunks).with_shares(shares.collect::<Vec<_>>())));
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
                        StorageWrite::Share { person, ops } => {
                            *self.shares.entry((doc, person)).or_default() += ops
                        }
                    }
                }
                self.relay.written(doc, batch, Ok(()));
            }
            Effect::SaveSyncState { doc, storage_id, state } => {
                self.sync_states.insert((doc, storage_id), state);
            }
            Effect::Apply { doc, job } => {
                if self.run_jobs {
                    self.relay.applied(doc, job.run());
                } else {
                    self.jobs.push((doc, job));
                }
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

    /// [`Harness::settle`] over `seconds` of the relay's clock, a second at
    /// a time (a person's rate holds back what is over).
    fn settle_for(&mut self, seconds: u64) {
        for _ in 0..seconds {
            self.now += 1_000;
            self.relay.tick(self.now);
            self.settle();
        }
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

/// What a frame's changes add ([`chunks::Size::cost`]; 0 for other frames).
fn cost_of(frame: &[u8]) -> u64 {
    match Message::decode(frame) {
        Ok(Message::Sync { data, .. } | Message::Request { data, .. }) => {
            let message = sync::Message::decode(&data).unwrap();
            chunks::count_all(message.changes.iter(), &mut { usize::MAX }).unwrap().cost()
        }
        _ => 0,
    }
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
    let [frame] = <[_; 1]>::try_from(h.peers[again].client.outgoing(doc_id(1), &mut synced)).unwrap();
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

// ---- limits, claims, deletion --------------------------------------------

/// A document whose one change holds `chars` characters of text (that many
/// operations).
fn text_doc(chars: usize) -> AutoCommit {
    let mut doc = AutoCommit::new();
    let text = doc.put_object(ROOT, "t", automerge::ObjType::Text).unwrap();
    doc.splice_text(&text, 0, 0, &"я".repeat(chars)).unwrap();
    doc.commit();
    doc
}

fn small_limits() -> Limits {
    Limits { ops_per_message: 1_000, doc_ops: 2_500, ops_per_second: 100, ..Limits::default() }
}

fn refused(m: &Message) -> bool {
    matches!(m, Message::DocRefused { .. })
}

fn unavailable(m: &Message) -> bool {
    matches!(m, Message::DocUnavailable { .. })
}

/// A message over the relay's size limits is refused from its counted
/// operations, before anything is applied: nothing stored, the device told
/// why (in Russian) and that the relay takes nothing more from it for the
/// document; others sync on.
#[test]
fn a_message_over_the_limit_is_refused_before_it_is_applied() {
    let mut h =
        Harness::over(Relay::new("relay".into(), None, Box::new(OpenAccess)).with_limits(small_limits()));
    let (a, b) = (h.join("a", None), h.join("b", None));
    h.open(a, doc_id(1), text_doc(1_200));
    let conn = h.peers[a].conn;
    assert_eq!(h.sent_to(conn, refused), 1);
    let why = h.sent.iter().find_map(|(_, m, _)| match m {
        Message::DocRefused { message, detail, .. } => Some((message.clone(), detail.clone())),
        _ => None,
    });
    let (message, detail) = why.unwrap();
    assert!(message.starts_with("изменение слишком большое"), "{message}");
    assert!(detail.contains("1201 operations"), "{detail}");
    assert!(h.peers[a].client.relay_read_only(&doc_id(1)));
    assert!(h.disk.get(&doc_id(1)).is_none_or(|chunks| chunks.is_empty()), "nothing stored");
    assert!(h.closed.is_empty(), "the connection stays");
    h.open(b, doc_id(2), text_doc(500));
    assert_eq!(h.disk.get(&doc_id(2)).map(Vec::len), Some(1), "another document syncs on");
}

/// A device whose changes were refused takes the server's copy instead
/// (drops its own and asks afresh): on the same connection, its next
/// changes are vetted again and taken, not ignored until it reconnects.
#[test]
fn a_device_that_takes_the_servers_copy_after_a_refusal_may_write_again() {
    let mut h =
        Harness::over(Relay::new("relay".into(), None, Box::new(OpenAccess)).with_limits(small_limits()));
    let a = h.join("a", None);
    let id = doc_id(1);
    h.open(a, id, text_doc(10));
    let mut doc = h.peers[a].docs[&id].clone();
    let text = doc.get(ROOT, "t").unwrap().unwrap().1;
    doc.splice_text(&text, 0, 0, &"б".repeat(1_200)).unwrap();
    doc.commit();
    h.open(a, id, doc);
    assert_eq!(h.sent_to(h.peers[a].conn, refused), 1);
    assert!(h.peers[a].client.relay_read_only(&id));

    // «Вернуть копию с сервера»: the device forgets its copy and asks.
    h.peers[a].client.forget(&id);
    h.open(a, id, AutoCommit::new());
    assert_eq!(h.peers[a].docs.get_mut(&id).unwrap().get_heads(), stored_heads(&h, id));
    assert!(!h.peers[a].client.relay_read_only(&id), "the server's copy may be edited");
    let mut doc = h.peers[a].docs[&id].clone();
    let text = doc.get(ROOT, "t").unwrap().unwrap().1;
    doc.splice_text(&text, 0, 0, "новое").unwrap();
    doc.commit();
    let heads = doc.get_heads();
    h.open(a, id, doc);
    assert_eq!(stored_heads(&h, id), heads, "the edit after the server's copy is stored");
    assert_eq!(h.sent_to(h.peers[a].conn, refused), 1, "and not refused");
}

fn stored_heads(h: &Harness, id: DocumentId) -> Vec<automerge::ChangeHash> {
    let mut stored = AutoCommit::new();
    for chunk in &h.disk[&id] {
        stored.load_incremental(chunk).unwrap();
    }
    stored.get_heads()
}

#[test]
fn a_document_stops_growing_at_its_limit() {
    let mut h = Harness::over(
        Relay::new("relay".into(), None, Box::new(OpenAccess))
            .with_limits(Limits { ops_per_second: 1_000_000, ..small_limits() }),
    );
    let a = h.join("a", None);
    // Ten changes first, so that one more is sent as a change (a device
    // sends its whole document, counted whole, when it has more than a
    // third of the changes the relay lacks).
    let mut doc = text_doc(90);
    let text = doc.get(ROOT, "t").unwrap().unwrap().1;
    for _ in 1..10 {
        doc.splice_text(&text, 0, 0, &"ю".repeat(90)).unwrap();
        doc.commit();
    }
    h.open(a, doc_id(1), doc.clone());
    for round in 0..3 {
        doc.splice_text(&text, 0, 0, &"ё".repeat(700)).unwrap();
        doc.commit();
        h.peers[a].docs.insert(doc_id(1), doc.clone());
        // A second for the person's rate to refill.
        h.relay.tick((round + 1) * 1_000);
        h.settle();
        let refusals = h.sent_to(h.peers[a].conn, refused);
        // 901 + 700 + 700 fits in 2,500; 700 more does not.
        assert_eq!(refusals, usize::from(round >= 2), "round {round}");
    }
    // Said as what it is: the document is full (not that this change is big).
    let conn = h.peers[a].conn;
    let why = h.sent.iter().find_map(|(c, m, _)| match m {
        Message::DocRefused { message, .. } if *c == conn => Some(message.clone()),
        _ => None,
    });
    let why = why.expect("the device is told why");
    assert!(
        why.starts_with("документ заполнен: сервер хранит в одном документе не больше 2\u{a0}500 операций"),
        "{why}"
    );
    assert!(why.contains("«Дублировать»"), "{why}");
    let stored = automerge::Automerge::load(&h.disk[&doc_id(1)].concat()).unwrap();
    use automerge::ReadDoc as _;
    assert_eq!(stored.stats().num_ops, 2_301, "what came before the limit is kept");
}

/// One member filling a document with changes of legal size stops at their
/// share of it; the others go on, and the share holds after the document
/// is evicted and the relay restarted (it is stored with the document).
#[test]
fn one_person_cannot_fill_a_document_and_lock_the_others_out() {
    use automerge::ReadDoc as _;
    let limits = Limits {
        ops_per_message: 1_000,
        doc_ops: 5_000,
        person_doc_ops: 2_000,
        ops_per_second: 1_000_000,
        ..Limits::default()
    };
    let mut h = Harness::over(Relay::new("relay".into(), None, Box::new(OpenAccess)).with_limits(limits));
    h.user = "mallory".into();
    let m = h.join("m", None);
    let mut doc = text_doc(100);
    let text = doc.get(ROOT, "t").unwrap().unwrap().1;
    h.open(m, doc_id(1), doc.clone());
    // Legal messages of 600 characters until the share is used up.
    let mut refused_at = None;
    for round in 0..6u64 {
        doc.splice_text(&text, 0, 0, &"ж".repeat(600)).unwrap();
        doc.commit();
        h.peers[m].docs.insert(doc_id(1), doc.clone());
        // A second for the person's rate to refill.
        h.settle_for(1);
        if h.sent_to(h.peers[m].conn, refused) > 0 {
            refused_at = Some(round);
            break;
        }
    }
    // 101 + 3 × 600 fits in 2,000; the fourth does not.
    assert_eq!(refused_at, Some(3));
    let conn = h.peers[m].conn;
    let why = h.sent.iter().find_map(|(c, m, _)| match m {
        Message::DocRefused { message, .. } if *c == conn => Some(message.clone()),
        _ => None,
    });
    let why = why.unwrap();
    assert!(why.starts_with("вы уже добавили в этот документ 1\u{a0}901 операций"), "{why}");
    assert!(why.contains("Остальные могут продолжать работу"), "{why}");
    let stored =
        |h: &Harness| automerge::Automerge::load(&h.disk[&doc_id(1)].concat()).unwrap().stats().num_ops;
    assert_eq!(stored(&h), 1_901);
    assert_eq!(h.shares[&(doc_id(1), "mallory".to_owned())], 1_901, "stored with the document");

    // Someone else still saves to it.
    h.user = "alice".into();
    let a = h.join("a", None);
    h.open(a, doc_id(1), AutoCommit::new());
    let mut hers = h.peers[a].docs[&doc_id(1)].clone();
    hers.put(ROOT, "title", "Работаем дальше").unwrap();
    hers.commit();
    h.peers[a].docs.insert(doc_id(1), hers);
    h.settle();
    assert_eq!(h.sent_to(h.peers[a].conn, refused), 0);
    assert_eq!(stored(&h), 1_902);

    // Everyone leaves, the document is evicted, the relay restarts: the
    // share is still used up.
    h.disconnect(a);
    h.disconnect(m);
    h.settle_for(EVICT_AFTER_MS / 1_000 + 1);
    h.relay = Relay::new("relay".into(), None, Box::new(OpenAccess)).with_limits(limits);
    h.user = "mallory".into();
    let m = h.join("m2", None);
    let mut again = doc.clone();
    again.put(ROOT, "x", "ещё").unwrap();
    again.commit();
    h.open(m, doc_id(1), again);
    assert_eq!(h.sent_to(h.peers[m].conn, refused), 1, "refused after the restart too");
    assert_eq!(stored(&h), 1_902, "nothing more of hers stored");
}

/// A person's operations are applied at their rate after a burst of one
/// big message: what is over waits for the clock (it is not refused), and
/// other people's messages do not wait with it.
#[test]
fn a_persons_rate_holds_back_what_is_over_and_applies_it_later() {
    let mut h =
        Harness::over(Relay::new("relay".into(), None, Box::new(OpenAccess)).with_limits(small_limits()));
    h.relay.tick(1_000);
    h.user = "busy".into();
    let a = h.join("a", None);
    h.user = "other".into();
    let b = h.join("b", None);
    h.open(a, doc_id(1), text_doc(900));
    assert_eq!(h.writes, 1, "the burst");
    h.open(a, doc_id(2), text_doc(900));
    assert_eq!(h.writes, 1, "over the rate: waits");
    h.open(b, doc_id(3), text_doc(50));
    assert_eq!(h.writes, 2, "another person's message does not wait");
    // 100 operations a second: 900 are there after 9 s (ticks apply them).
    for s in 2..=10 {
        h.relay.tick(s * 1_000);
        h.settle();
    }
    assert_eq!(h.writes, 3, "applied once the rate allowed");
    assert_eq!(h.sent_to(h.peers[a].conn, refused), 0, "never refused");
    let mut fresh = h.peers[a].docs[&doc_id(2)].clone();
    assert_eq!(
        automerge::Automerge::load(&h.disk[&doc_id(2)].concat()).unwrap().get_heads(),
        fresh.get_heads()
    );
}

#[test]
fn messages_waiting_for_a_connection_are_capped() {
    let limits = Limits { pending_bytes: 4_000, ..Limits::default() };
    let mut relay = Relay::new("relay".into(), None, Box::new(OpenAccess)).with_limits(limits);
    relay.connect(1, "anyone");
    relay.receive(1, &join_frame("a", &["1"]));
    drain(&mut relay);
    // The document's storage never answers: messages wait in its inbox.
    let mut doc = text_doc(2_000);
    let data = sync::Message {
        heads: doc.get_heads(),
        need: vec![],
        have: vec![],
        changes: vec![doc.save()].into(),
        flags: None,
        version: MessageVersion::V1,
    }
    .encode();
    let mut closed = None;
    for _ in 0..20 {
        relay.receive(1, &sync_frame("a", doc_id(1), data.clone()));
        if let Some(Effect::Close { code, .. }) =
            drain(&mut relay).into_iter().find(|e| matches!(e, Effect::Close { .. }))
        {
            closed = Some(code);
            break;
        }
    }
    assert_eq!(closed, Some(close::LIMIT));
    assert_eq!(relay.connections(), 0);
}

/// Rights by user, for tests that need readers.
struct Rights(HashMap<&'static str, medk_shared::access::Right>);

impl Access for Rights {
    fn right(&mut self, user: &str, _: &DocumentId) -> medk_shared::access::Right {
        self.0.get(user).copied().unwrap_or(medk_shared::access::Right::None)
    }
}

fn ephemeral_frame(peer: &str, doc: DocumentId, count: u64, bytes: usize) -> Vec<u8> {
    Message::Ephemeral {
        sender_id: peer.into(),
        target_id: "relay".into(),
        document_id: doc,
        session_id: "s".into(),
        count,
        data: vec![0xa0; bytes],
    }
    .encode()
}

/// Presence is small and rare: larger messages and those past a
/// connection's rate reach nobody, and a reader sends at most its own
/// small presence.
#[test]
fn presence_floods_reach_nobody() {
    use medk_shared::access::Right;
    let rights =
        Rights(HashMap::from([("writer", Right::Write), ("reader", Right::Read), ("viewer", Right::Read)]));
    let mut h = Harness::over(Relay::new("relay".into(), None, Box::new(rights)));
    h.disk.insert(doc_id(1), vec![small_doc().save()]);
    let mut peers = HashMap::new();
    for user in ["writer", "reader", "viewer"] {
        h.user = user.into();
        let p = h.join(user, None);
        h.open(p, doc_id(1), AutoCommit::new());
        peers.insert(user, h.peers[p].conn);
    }
    let viewer = peers["viewer"];
    let received = |h: &Harness| {
        h.sent
            .iter()
            .filter(|(c, m, _)| *c == viewer && matches!(m, Message::Ephemeral { .. }))
            .map(|(_, _, len)| *len)
            .collect::<Vec<_>>()
    };
    let send = |h: &mut Harness, user: &str, count: u64, bytes: usize| {
        h.relay.receive(peers[user], &ephemeral_frame(user, doc_id(1), count, bytes));
        h.settle();
    };
    send(&mut h, "reader", 1, 15 << 20);
    send(&mut h, "reader", 2, 2_000);
    send(&mut h, "writer", 1, 20_000);
    assert_eq!(received(&h), Vec::<usize>::new(), "too big: dropped");
    send(&mut h, "reader", 3, 300);
    send(&mut h, "writer", 2, 10_000);
    assert_eq!(received(&h).len(), 2, "a reader's small presence and a writer's 10 KB are relayed");
    // A burst: twice the rate per second goes through, the rest is dropped;
    // a second later there is room again.
    for n in 0..100 {
        send(&mut h, "writer", 10 + n, 50);
    }
    assert_eq!(received(&h).len(), 2 + 19, "a burst of 20 (the writer used one)");
    h.relay.advance(1_000);
    send(&mut h, "writer", 500, 50);
    assert_eq!(received(&h).len(), 22, "ten more a second");
}

/// Who registered what, as the server's accounts would.
#[derive(Clone, Default)]
struct Registry(std::sync::Arc<std::sync::Mutex<HashMap<DocumentId, String>>>);

impl Access for Registry {
    fn right(&mut self, user: &str, doc: &DocumentId) -> medk_shared::access::Right {
        let owner = self.0.lock().unwrap().get(doc).cloned();
        if owner.as_deref() == Some(user) {
            medk_shared::access::Right::Write
        } else {
            medk_shared::access::Right::None
        }
    }

    fn may_claim(&mut self, _: &str, doc: &DocumentId) -> Result<(), Option<Refusal>> {
        if self.0.lock().unwrap().contains_key(doc) { Err(None) } else { Ok(()) }
    }

    fn vetter(&mut self, user: &str, doc: &DocumentId, claim: bool) -> Option<Vetter> {
        let (doc, user) = (*doc, user.to_owned());
        Some(Box::new(move |before, after, changes| {
            let claimant = claim.then_some(user.as_str());
            medk_shared::layout::vet_roadmap(&doc, claimant, before, after, changes).map_err(Refusal::from)
        }))
    }
}

/// A new roadmap by `creator`, as the app stamps it, and its id.
fn new_roadmap(creator: &str, nonce: u8) -> (DocumentId, AutoCommit) {
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Новая".into(),
            level: Level::School,
            territory: String::new(),
            year: None,
            columns: Vec::new(),
        },
        RowId::new("s"),
    );
    let id = doc.stamp_origin(creator, [nonce; 16], 0);
    (id, doc.automerge().clone())
}

/// A document nobody registered is registered to whoever sends the changes
/// that create it, if it is theirs (its origin names them): as an effect,
/// before anything of it is stored or answered. Whoever only knows its id
/// cannot take it, before or after.
#[test]
fn a_new_roadmap_is_registered_to_its_creator_only_and_stored_after() {
    let registry = Registry::default();
    let mut h = Harness::over(Relay::new("relay".into(), None, Box::new(registry.clone())));
    h.answer_claims = false;
    let (id, doc) = new_roadmap("alice", 1);
    // Mallory knows the id first and sends a roadmap of her own under it.
    h.user = "mallory".into();
    let m = h.join("m", None);
    let (_, hers) = new_roadmap("mallory", 2);
    h.open(m, id, hers);
    assert!(h.claims.is_empty(), "her roadmap's origin does not give this id");
    assert_eq!(h.sent_to(h.peers[m].conn, unavailable), 1);
    // Then she has a copy of Alice's (a shared file) and sends that.
    let m2 = h.join("m2", None);
    h.open(m2, id, doc.clone());
    assert!(h.claims.is_empty(), "it names Alice as its maker");
    // Alice's device: registered, then stored and answered.
    h.user = "alice".into();
    let a = h.join("a", None);
    h.open(a, id, doc);
    assert_eq!(h.claims, vec![(id, "alice".to_owned())]);
    assert_eq!(h.writes, 0, "nothing stored before it is registered");
    let (doc, user) = h.claims.remove(0);
    registry.0.lock().unwrap().insert(doc, user);
    h.relay.claimed(doc, Ok(()));
    h.settle();
    assert_eq!(h.writes, 1);
    assert_eq!(
        automerge::Automerge::load(&h.disk[&id].concat()).unwrap().get_heads(),
        h.peers[a].docs.get_mut(&id).unwrap().get_heads()
    );
    assert!(!h.peers[a].client.relay_read_only(&id));
}

#[test]
fn a_refused_registration_leaves_nothing_stored() {
    let mut h = Harness::over(Relay::new("relay".into(), None, Box::new(Registry::default())));
    h.answer_claims = false;
    h.user = "alice".into();
    let a = h.join("a", None);
    let (id, doc) = new_roadmap("", 3);
    h.open(a, id, doc);
    assert_eq!(h.claims.len(), 1);
    h.relay.claimed(id, Err(None));
    h.settle();
    assert_eq!(h.writes, 0);
    assert_eq!(h.sent_to(h.peers[a].conn, unavailable), 1);
}

#[test]
fn a_document_deleted_for_everyone_is_forgotten_and_its_peers_told() {
    let mut h = Harness::new();
    let (a, b) = (h.join("a", None), h.join("b", None));
    h.open(a, doc_id(1), small_doc());
    h.open(b, doc_id(1), AutoCommit::new());
    h.relay.forget_document(doc_id(1));
    h.settle();
    for p in [a, b] {
        assert_eq!(h.sent_to(h.peers[p].conn, unavailable), 1);
    }
    // A write the relay asked for before is answered after: nothing happens.
    h.relay.written(doc_id(1), 1, Ok(()));
    h.settle();
}

#[test]
fn the_relay_names_its_storage_to_peers() {
    let mut relay = Relay::new("relay".into(), Some("medk-relay-0123".into()), Box::new(OpenAccess));
    relay.connect(1, "anyone");
    relay.receive(1, &join_frame("a", &["1"]));
    let effects = drain(&mut relay);
    let [Effect::Send { frame, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    let Ok(Message::Peer { metadata, .. }) = Message::decode(frame) else { panic!() };
    assert_eq!(metadata.storage_id.as_deref(), Some("medk-relay-0123"));
}

/// The relay answers only once a write is durable. A device that meanwhile
/// sends the heads it has (as the app does after every answer) must still be
/// told, once the write is done, that the relay holds them: automerge takes
/// heads the peer sent as heads it was told, and the browser showed «не
/// отправлено: 1» for ever after a new roadmap's first quick edits.
#[test]
fn a_device_is_told_its_last_change_is_stored_though_it_sent_its_heads_first() {
    let mut relay = Relay::new("relay".into(), None, Box::new(OpenAccess));
    let mut client = Client::new("tab".into(), None);
    let id = doc_id(7);
    let mut doc = small_doc();
    let mut held: Vec<u64> = Vec::new();
    let mut to_client: Vec<Vec<u8>> = Vec::new();
    // The relay's effects: frames wait in `to_client`, loads find nothing,
    // writes wait in `held` until the test lets them finish.
    let run = |relay: &mut Relay, held: &mut Vec<u64>, to_client: &mut Vec<Vec<u8>>| {
        while let Some(effect) = relay.poll() {
            match effect {
                Effect::Send { frame, .. } => to_client.push(frame),
                Effect::Load { doc } => relay.loaded(doc, Ok(Loaded::parse(Vec::new()))),
                Effect::Write { batch, .. } => held.push(batch),
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    let deliver = |client: &mut Client, doc: &mut AutoCommit, to_client: &mut Vec<Vec<u8>>| {
        for frame in to_client.drain(..) {
            if let Event::Sync { message, .. } = client.receive(&frame).unwrap() {
                client.apply(id, &mut doc.sync(), message).unwrap();
            }
        }
    };
    let send = |relay: &mut Relay, client: &mut Client, doc: &mut AutoCommit| {
        for frame in client.outgoing(id, doc) {
            relay.receive(1, &frame);
        }
    };
    let edit = |doc: &mut AutoCommit, title: &str| {
        doc.put(ROOT, "title", title).unwrap();
        doc.commit();
    };
    relay.connect(1, "anyone");
    relay.receive(1, &client.join());
    run(&mut relay, &mut held, &mut to_client);
    deliver(&mut client, &mut doc, &mut to_client);
    // Heads first, then the first change once the relay says it lacks it.
    send(&mut relay, &mut client, &mut doc);
    run(&mut relay, &mut held, &mut to_client);
    deliver(&mut client, &mut doc, &mut to_client);
    send(&mut relay, &mut client, &mut doc);
    run(&mut relay, &mut held, &mut to_client);
    assert_eq!(held.len(), 1, "the first change is being written");
    // Quick edits: the second goes out during the first write, the third
    // during the second, before the device hears that the first is stored.
    edit(&mut doc, "Дорожная карта школы");
    send(&mut relay, &mut client, &mut doc);
    relay.written(id, held.remove(0), Ok(()));
    run(&mut relay, &mut held, &mut to_client);
    assert_eq!(held.len(), 1, "the second change is being written");
    edit(&mut doc, "Дорожная карта школы № 1");
    send(&mut relay, &mut client, &mut doc);
    // Now it hears of the first, and answers with its heads: the third's.
    deliver(&mut client, &mut doc, &mut to_client);
    send(&mut relay, &mut client, &mut doc);
    relay.written(id, held.remove(0), Ok(()));
    run(&mut relay, &mut held, &mut to_client);
    deliver(&mut client, &mut doc, &mut to_client);
    send(&mut relay, &mut client, &mut doc);
    assert_eq!(held.len(), 1, "the third change is being written");
    assert_ne!(client.shared_heads(&id), Some(&doc.get_heads()[..]), "not stored yet, not told yet");
    relay.written(id, held.remove(0), Ok(()));
    run(&mut relay, &mut held, &mut to_client);
    deliver(&mut client, &mut doc, &mut to_client);
    assert_eq!(
        client.shared_heads(&id),
        Some(&doc.get_heads()[..]),
        "once stored, the device is told the relay holds its last change"
    );
}

/// A roadmap made offline by `creator`, as the app makes one: created,
/// `activities` added one action at a time with descriptions of `chars`
/// characters, and its origin stamped last (when it is stored as the
/// person's own).
fn offline_roadmap(creator: &str, nonce: u8, activities: usize, chars: usize) -> (DocumentId, AutoCommit) {
    let section = RowId::new("s");
    let mut doc = RoadmapDoc::create(
        &NewRoadmap {
            title: "Сделана без сети".into(),
            level: Level::School,
            territory: String::new(),
            year: Some(2026),
            columns: Level::School.default_columns(),
        },
        section.clone(),
    );
    let mut after: Option<RowId> = None;
    for i in 0..activities {
        let row = RowId::new(format!("a{i}"));
        let insert = actions::insert_activity(&doc, &section, after.as_ref(), row.clone());
        let text = Edit::SetText {
            target: TextTarget::Activity(row.clone(), ActivityField::Description),
            value: "м".repeat(chars),
        };
        doc.apply(vec![insert, text], i as i64, "add").unwrap();
        after = Some(row);
    }
    let id = doc.stamp_origin(creator, [nonce; 16], 0);
    (id, doc.automerge().clone())
}

/// Limits with room for pieces of a thousand: every test below is about
/// the size of a message, not about a person's rate.
fn piece_limits() -> Limits {
    Limits { ops_per_message: 1_000, inline_ops: 1_000, ops_per_second: 1_000_000, ..Limits::default() }
}

/// A roadmap made offline, bigger than the relay takes in one message, is
/// sent in pieces within the limit, gathered until it is whole, registered
/// to its maker and stored whole; nothing is refused. (Before, the device
/// sent it in one message over the limit, which was refused: the roadmap
/// could never sync.)
#[test]
fn a_new_roadmap_bigger_than_one_message_comes_in_pieces_and_is_registered_whole() {
    let registry = Registry::default();
    let mut h = Harness::over(
        Relay::new("relay".into(), None, Box::new(registry.clone())).with_limits(piece_limits()),
    );
    h.answer_claims = false;
    h.user = "alice".into();
    let a = h.join("a", None);
    h.peers[a].client =
        std::mem::replace(&mut h.peers[a].client, Client::new("x".into(), None)).with_piece_limit(1_000);
    let (id, doc) = offline_roadmap("alice", 7, 40, 120);
    let total = chunks::count(&doc.clone().save(), &mut { usize::MAX }).unwrap();
    assert!(total.cost() > 4_000, "{total:?}: several messages' worth");
    h.peers[a].docs.insert(id, doc.clone());
    h.settle_for(10);
    let conn = h.peers[a].conn;
    let pieces: Vec<u64> =
        h.uploads.iter().filter(|(c, cost)| *c == conn && *cost > 0).map(|(_, c)| *c).collect();
    assert!(pieces.len() >= 4, "{pieces:?}");
    assert!(pieces.iter().all(|cost| *cost <= 1_000), "{pieces:?}");
    assert_eq!(h.sent_to(conn, refused), 0);
    assert_eq!(h.claims, vec![(id, "alice".to_owned())], "registered once, when whole");
    assert_eq!(h.writes, 0, "nothing stored before it is registered");
    registry.0.lock().unwrap().insert(id, "alice".into());
    h.relay.claimed(id, Ok(()));
    h.settle();
    let mut doc = doc;
    assert_eq!(automerge::Automerge::load(&h.disk[&id].concat()).unwrap().get_heads(), doc.get_heads());
    assert_eq!(h.peers[a].client.relay_heads(&id), Some(doc.get_heads().as_slice()), "acknowledged");
}

/// A device that has a roadmap the relay has, plus a day of edits made
/// offline over the limit, sends the edits in pieces; each is applied.
#[test]
fn a_backlog_of_edits_bigger_than_one_message_comes_in_pieces() {
    let mut h =
        Harness::over(Relay::new("relay".into(), None, Box::new(OpenAccess)).with_limits(piece_limits()));
    let a = h.join("a", None);
    h.peers[a].client =
        std::mem::replace(&mut h.peers[a].client, Client::new("x".into(), None)).with_piece_limit(1_000);
    let (_, mut doc) = offline_roadmap("", 8, 2, 10);
    h.open(a, doc_id(1), doc.clone());
    h.uploads.clear();
    let text = doc.put_object(ROOT, "notes", automerge::ObjType::Text).unwrap();
    for i in 0..30 {
        doc.splice_text(&text, 0, 0, &format!("{i}").repeat(150)).unwrap();
        doc.commit();
    }
    h.peers[a].docs.insert(doc_id(1), doc.clone());
    h.settle_for(10);
    let pieces: Vec<u64> = h.uploads.iter().map(|(_, c)| *c).filter(|c| *c > 0).collect();
    assert!(pieces.len() >= 4 && pieces.iter().all(|c| *c <= 1_000), "{pieces:?}");
    assert_eq!(h.sent_to(h.peers[a].conn, refused), 0);
    assert_eq!(
        automerge::Automerge::load(&h.disk[&doc_id(1)].concat()).unwrap().get_heads(),
        doc.get_heads()
    );
}

/// Pieces come in causal order: each applies whole to what came before.
#[test]
fn pieces_apply_in_order_with_nothing_left_waiting() {
    use automerge::ReadDoc as _;
    let (id, mut doc) = offline_roadmap("", 9, 30, 100);
    let mut client = Client::new("a".into(), None).with_piece_limit(700);
    client
        .receive(
            &Message::Peer {
                sender_id: "relay".into(),
                target_id: "a".into(),
                metadata: PeerMetadata::default(),
                selected_protocol_version: "1".into(),
            }
            .encode(),
        )
        .unwrap();
    // The relay says it has nothing: the device sends everything.
    let mut relay_doc = automerge::Automerge::new();
    let mut relay_state = sync::State::new();
    for frame in client.outgoing(id, &mut doc) {
        let Ok(Message::Sync { data, .. }) = Message::decode(&frame) else { panic!("a sync frame") };
        relay_doc.receive_sync_message(&mut relay_state, sync::Message::decode(&data).unwrap()).unwrap();
    }
    let reply = relay_doc.generate_sync_message(&mut relay_state).unwrap();
    client.apply(id, &mut doc.sync(), reply).unwrap();
    let mut sent = 0;
    for frame in client.outgoing(id, &mut doc) {
        let Ok(Message::Sync { data, .. }) = Message::decode(&frame) else { panic!("a sync frame") };
        let message = sync::Message::decode(&data).unwrap();
        let cost = chunks::count_all(message.changes.iter(), &mut { usize::MAX }).unwrap().cost();
        assert!(cost <= 700, "{cost}");
        relay_doc.receive_sync_message(&mut relay_state, message).unwrap();
        assert!(relay_doc.get_missing_deps(&[]).is_empty(), "a piece depends on a later one");
        sent += 1;
    }
    assert!(sent > 3, "{sent} pieces");
    assert_eq!(relay_doc.get_heads(), doc.get_heads());
}

/// A message too big to apply on the relay's own task is handed out as a
/// job: while it runs, another person's document is applied, stored and
/// answered; the big one is stored once the job is done.
#[test]
fn a_big_message_is_applied_off_the_relays_task_while_others_go_on() {
    let mut h = Harness::over(
        Relay::new("relay".into(), None, Box::new(OpenAccess))
            .with_limits(Limits { inline_ops: 100, ..Limits::default() }),
    );
    h.run_jobs = false;
    let (a, b) = (h.join("a", None), h.join("b", None));
    h.open(a, doc_id(1), text_doc(5_000));
    assert_eq!(h.jobs.len(), 1, "handed out");
    assert_eq!(h.writes, 0);
    h.open(b, doc_id(2), text_doc(50));
    assert_eq!(h.disk.get(&doc_id(2)).map(Vec::len), Some(1), "the small one is stored meanwhile");
    let mut small = h.peers[b].docs[&doc_id(2)].clone();
    assert_eq!(
        h.peers[b].client.relay_heads(&doc_id(2)),
        Some(small.get_heads().as_slice()),
        "and acknowledged"
    );
    // More from the big document's device waits for its job.
    let doc = h.peers[a].docs.get_mut(&doc_id(1)).unwrap();
    doc.put(ROOT, "after", "ещё").unwrap();
    doc.commit();
    h.settle();
    assert_eq!(h.jobs.len(), 1);
    let (doc, job) = h.jobs.remove(0);
    h.relay.applied(doc, job.run());
    h.settle();
    let mut big = h.peers[a].docs[&doc_id(1)].clone();
    assert_eq!(
        automerge::Automerge::load(&h.disk[&doc_id(1)].concat()).unwrap().get_heads(),
        big.get_heads()
    );
    assert_eq!(h.peers[a].client.relay_heads(&doc_id(1)), Some(big.get_heads().as_slice()));
}

/// The changes of `doc` in pieces of at most `limit`, as a device sends
/// them to a relay that has nothing: sync frames from `peer`.
fn piece_frames(peer: &str, id: DocumentId, doc: &mut AutoCommit, limit: u64) -> Vec<Vec<u8>> {
    let mut pieces: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
    let mut cost = 0;
    for change in doc.get_changes(&[]) {
        let this = chunks::Size::change(change.len()).cost();
        if cost + this > limit {
            pieces.push(Vec::new());
            cost = 0;
        }
        cost += this;
        pieces.last_mut().unwrap().push(change.raw_bytes().to_vec());
    }
    let heads = doc.get_heads();
    pieces
        .into_iter()
        .map(|changes| {
            let message = sync::Message {
                heads: heads.clone(),
                need: vec![],
                have: vec![],
                changes: changes.into(),
                flags: None,
                version: MessageVersion::V1,
            };
            sync_frame(peer, id, message.encode())
        })
        .collect()
}

/// Someone who knows a new roadmap's id sends the first pieces of a copy
/// and stops: they are kept in a copy of her own (stored nowhere,
/// registered to nobody), and the maker's device registers and stores the
/// roadmap meanwhile. A person's unfinished new documents are capped: her
/// own new roadmap, over the cap, waits until the copy is dropped, then
/// is registered.
#[test]
fn unfinished_pieces_of_a_new_document_block_nobody() {
    let registry = Registry::default();
    let mut h = Harness::over(
        Relay::new("relay".into(), None, Box::new(registry.clone()))
            .with_limits(Limits { doc_ops: 5_000, ..piece_limits() }),
    );
    h.answer_claims = false;
    let (id, doc) = offline_roadmap("alice", 10, 40, 80);
    h.user = "mallory".into();
    let m = h.join("m", None);
    let conn_m = h.peers[m].conn;
    let frames = piece_frames("m", id, &mut doc.clone(), 1_000);
    assert!(frames.len() >= 5, "{}", frames.len());
    for frame in &frames[..3] {
        h.relay.receive(conn_m, frame);
    }
    h.settle_for(5);
    assert!(h.claims.is_empty() && h.writes == 0, "nothing of it registered or stored");
    // Her own new roadmap: with the copy, past what one person may gather.
    let (own, mut hers) = offline_roadmap("mallory", 11, 30, 80);
    for frame in piece_frames("m", own, &mut hers, 1_000) {
        h.relay.receive(conn_m, &frame);
    }
    h.settle_for(10);
    assert!(h.claims.is_empty(), "her second new document waits");
    // Alice's device registers the roadmap: Mallory's copy goes.
    h.user = "alice".into();
    let a = h.join("a", None);
    h.peers[a].client =
        std::mem::replace(&mut h.peers[a].client, Client::new("a".into(), None)).with_piece_limit(1_000);
    h.peers[a].docs.insert(id, doc);
    h.settle_for(10);
    assert_eq!(h.claims, vec![(id, "alice".to_owned())]);
    registry.0.lock().unwrap().insert(id, "alice".into());
    h.claims.clear();
    h.relay.claimed(id, Ok(()));
    h.settle();
    assert_eq!(h.writes, 1, "stored");
    assert!(!h.peers[a].client.relay_read_only(&id));
    assert_eq!(h.sent_to(conn_m, unavailable), 1, "she is told the relay has nothing for her");
    // Her own one goes on now.
    h.settle_for(2);
    assert_eq!(h.claims, vec![(own, "mallory".to_owned())]);
}

/// Two devices of one person hold the same new roadmap (a file copied
/// between them) and both send it in pieces: the first to finish registers
/// it; what the relay gathered from the second is dropped, and that device
/// is asked to send again, to the roadmap itself, and ends in sync.
#[test]
fn a_second_device_sending_the_same_new_roadmap_ends_in_sync() {
    let registry = Registry::default();
    let mut h = Harness::over(
        Relay::new("relay".into(), None, Box::new(registry.clone())).with_limits(piece_limits()),
    );
    h.answer_claims = false;
    h.user = "alice".into();
    let (id, doc) = offline_roadmap("alice", 12, 40, 80);
    let b = h.join("b", None);
    let conn_b = h.peers[b].conn;
    for frame in &piece_frames("b", id, &mut doc.clone(), 1_000)[..2] {
        h.relay.receive(conn_b, frame);
    }
    h.settle_for(3);
    let a = h.join("a", None);
    h.peers[a].client =
        std::mem::replace(&mut h.peers[a].client, Client::new("a".into(), None)).with_piece_limit(1_000);
    h.peers[a].docs.insert(id, doc.clone());
    h.settle_for(10);
    assert_eq!(h.claims, vec![(id, "alice".to_owned())]);
    registry.0.lock().unwrap().insert(id, "alice".into());
    h.claims.clear();
    h.relay.claimed(id, Ok(()));
    // The second device now syncs the roadmap with the relay as usual.
    h.peers[b].client =
        std::mem::replace(&mut h.peers[b].client, Client::new("b".into(), None)).with_piece_limit(1_000);
    h.peers[b].docs.insert(id, doc.clone());
    h.settle_for(10);
    let mut doc = doc;
    let heads = doc.get_heads();
    for p in [a, b] {
        assert_eq!(h.peers[p].client.relay_heads(&id), Some(heads.as_slice()), "device {p}");
    }
    assert!(h.claims.is_empty(), "registered once");
}
