//! One relay, two clients, a document created on one appears on the other;
//! changes are acknowledged only after the relay's write completes.

use std::collections::HashMap;

use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, ROOT, ReadDoc as _};
use medk_shared::ids::DocumentId;
use medk_shared::sync::client::{Client, Event};
use medk_shared::sync::relay::{Effect, OpenAccess, Relay, StorageWrite};

struct Net {
    relay: Relay,
    store: HashMap<DocumentId, Vec<Vec<u8>>>,
    clients: Vec<(Client, HashMap<DocumentId, AutoCommit>)>,
    /// Frames from the relay per connection.
    inbox: Vec<Vec<Vec<u8>>>,
    writes: usize,
}

impl Net {
    fn new(n: usize) -> Net {
        let mut net = Net {
            relay: Relay::new("relay".into(), Box::new(OpenAccess)),
            store: HashMap::new(),
            clients: Vec::new(),
            inbox: vec![Vec::new(); n],
            writes: 0,
        };
        for i in 0..n {
            let mut c = Client::new(format!("c{i}"), Some(format!("s{i}")));
            net.relay.connect(i as u64);
            let join = c.join();
            net.clients.push((c, HashMap::new()));
            net.relay.receive(i as u64, &join);
        }
        net
    }

    /// Runs the relay's effects with instant storage until all is quiet.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut busy = false;
            while let Some(effect) = self.relay.poll() {
                busy = true;
                match effect {
                    Effect::Send { conn, frame } => self.inbox[conn as usize].push(frame),
                    Effect::Load { doc } => {
                        let chunks = self.store.get(&doc).cloned().unwrap_or_default();
                        self.relay.loaded(doc, Ok(chunks));
                    }
                    Effect::LoadSyncState { doc, storage_id } => {
                        self.relay.sync_state_loaded(doc, &storage_id, None)
                    }
                    Effect::Write { doc, batch, writes } => {
                        self.writes += 1;
                        let chunks = self.store.entry(doc).or_default();
                        for w in writes {
                            match w {
                                StorageWrite::Append(b) => chunks.push(b),
                                StorageWrite::Replace(b) => *chunks = vec![b],
                            }
                        }
                        self.relay.written(doc, batch, Ok(()));
                    }
                    Effect::SaveSyncState { .. } => {}
                    Effect::Close { conn, code, reason } => panic!("closed {conn}: {code} {reason}"),
                }
            }
            for i in 0..self.clients.len() {
                let frames = std::mem::take(&mut self.inbox[i]);
                let (client, docs) = &mut self.clients[i];
                for frame in frames {
                    busy = true;
                    match client.receive(&frame).unwrap() {
                        Event::Sync { doc, message } => {
                            let d = docs.entry(doc).or_default();
                            client.apply(doc, &mut d.sync(), message).unwrap();
                        }
                        Event::Connected | Event::None => {}
                        other => panic!("{other:?}"),
                    }
                }
                let ids: Vec<DocumentId> = docs.keys().copied().collect();
                for id in ids {
                    let d = docs.get_mut(&id).unwrap();
                    let heads = d.get_heads();
                    if let Some(frame) = client.outgoing(id, &mut d.sync(), &heads) {
                        busy = true;
                        self.relay.receive(i as u64, &frame);
                    }
                }
            }
            if !busy {
                return;
            }
        }
        panic!("did not settle");
    }
}

#[test]
fn a_document_made_on_one_device_reaches_another() {
    let mut net = Net::new(2);
    net.settle();
    let id = DocumentId::from_bytes([1; 16]);
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", "Дорожная карта").unwrap();
    net.clients[0].1.insert(id, doc);
    net.settle();
    assert_eq!(net.store.get(&id).map(Vec::len), Some(1), "stored once");
    // The second device asks for it.
    net.clients[1].1.insert(id, AutoCommit::new());
    net.settle();
    let got = &net.clients[1].1[&id];
    assert_eq!(got.get(ROOT, "title").unwrap().unwrap().0.as_str(), Some("Дорожная карта"));
    // An edit on the second device reaches the first.
    net.clients[1].1.get_mut(&id).unwrap().put(ROOT, "year", 2025).unwrap();
    net.settle();
    let mut first = net.clients[0].1[&id].clone();
    assert_eq!(first.get(ROOT, "year").unwrap().unwrap().0.as_i64(), Some(2025));
    assert_eq!(first.get_heads(), net.clients[1].1.get_mut(&id).unwrap().get_heads());
}
