//! Writes the seed inputs in `fuzz/seeds/<target>/`: valid frames of every
//! kind (and the loose encodings JS peers send) for `message_decode`, and
//! short scripted sessions for `relay`. Run after changing the relay
//! script's layout: `cd fuzz && cargo run --example seeds` (then check that
//! other files in `seeds/relay/` still mean what they meant).

use std::path::Path;

use medk_fuzz::relay::{N, R, Script, W, stored};
use medk_shared::ids::DocumentId;
use medk_shared::sync::message::{Message, PeerMetadata};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for (target, seeds) in [("message_decode", frames()), ("relay", sessions()), ("documents", documents())] {
        // Overwrites its own seeds, and leaves others (crashes kept as
        // regression inputs) alone.
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes)?;
        }
        println!("{}: {} seeds", dir.display(), seeds.len());
    }
    Ok(())
}

/// For `documents`: per kind of document, a few scripts of the hostile
/// peer (pseudo-random bytes, then targeted ones).
fn documents() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for kind in 0..3u8 {
        for n in 0..4 {
            let mut bytes = vec![kind];
            for _ in 0..(16 + 40 * n) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.push(state as u8);
            }
            seeds.push((format!("{}-{n}", ["roadmap", "school", "catalogue"][usize::from(kind)]), bytes));
        }
    }
    // On the root of a roadmap: delete `header` (key 2), put a string on
    // `sections` (key 4), put 999 on `schema` (key 1).
    seeds.push(("roadmap-broken-root".into(), vec![0, 0, 4, 2, 0, 0, 0, 4, 0, 0, 0x20, 1, 0x7f]));
    seeds
}

fn frames() -> Vec<(String, Vec<u8>)> {
    let doc = DocumentId::from_bytes([7; 16]);
    let messages = [
        Message::Join {
            sender_id: "peer-a".into(),
            metadata: PeerMetadata { storage_id: Some("device-1".into()), is_ephemeral: false },
            supported_protocol_versions: vec!["1".into()],
        },
        Message::Peer {
            sender_id: "relay".into(),
            target_id: "peer-a".into(),
            metadata: PeerMetadata { storage_id: None, is_ephemeral: true },
            selected_protocol_version: "1".into(),
        },
        Message::Request {
            sender_id: "a".into(),
            target_id: "r".into(),
            document_id: doc,
            data: vec![0x42, 0, 0],
        },
        Message::Sync { sender_id: "a".into(), target_id: "r".into(), document_id: doc, data: vec![1, 2, 3] },
        Message::DocUnavailable { sender_id: "r".into(), target_id: "a".into(), document_id: doc },
        Message::Ephemeral {
            sender_id: "a".into(),
            target_id: "r".into(),
            document_id: doc,
            session_id: "s".into(),
            count: 300,
            data: vec![9],
        },
        Message::Leave { sender_id: "a".into() },
        Message::Error { message: "нет".into() },
        Message::Other { kind: "remote-heads-changed".into() },
    ];
    let mut seeds: Vec<(String, Vec<u8>)> =
        messages.iter().enumerate().map(|(i, m)| (format!("frame-{i}"), m.encode())).collect();

    // What JS peers send: `metadata` with an undefined storage id, a float
    // count, a byte-string document id, a tagged Uint8Array, indefinite
    // lengths, a key that is not a string.
    let mut join = Cbor::default();
    join.map(5).text("type").text("join").text("senderId").text("peer-1");
    join.text("metadata").map(2).text("storageId").raw(&[0xf7]).text("isEphemeral").raw(&[0xf5]);
    join.text("supportedProtocolVersions").array(1).text("1");
    join.text("extra").array(2).raw(&[0x01, 0xa0]);
    seeds.push(("js-join".into(), join.0));

    let mut eph = Cbor::default();
    eph.map(7).text("type").text("ephemeral").text("senderId").text("a").text("targetId").text("b");
    eph.text("documentId").bytes(&[7; 16]).text("sessionId").text("s");
    eph.text("count").raw(&[0xfb, 0x40, 0x28, 0, 0, 0, 0, 0, 0]).text("data").raw(&[0xd8, 0x40]).bytes(&[1]);
    seeds.push(("js-ephemeral".into(), eph.0));

    let mut indefinite = Cbor::default();
    indefinite.raw(&[0xbf]).text("type").raw(&[0x7f]).text("sy").text("nc").raw(&[0xff]);
    indefinite.raw(&[0x07]).text("skipped").text("senderId").text("a").text("targetId").text("b");
    indefinite.text("documentId").text(&doc.to_string());
    indefinite.text("data").raw(&[0x5f]).bytes(&[1]).bytes(&[2, 3]).raw(&[0xff]).raw(&[0xff]);
    seeds.push(("indefinite".into(), indefinite.0));
    seeds
}

/// A few bytes of CBOR, written by hand so the seeds can hold what `encode`
/// never writes.
#[derive(Default)]
struct Cbor(Vec<u8>);

impl Cbor {
    fn head(&mut self, major: u8, n: usize) -> &mut Cbor {
        let major = major << 5;
        match n {
            0..24 => self.0.push(major | n as u8),
            24..256 => self.0.extend_from_slice(&[major | 24, n as u8]),
            _ => {
                self.0.push(major | 25);
                self.0.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        self
    }

    fn text(&mut self, s: &str) -> &mut Cbor {
        self.head(3, s.len());
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Cbor {
        self.head(2, b.len());
        self.0.extend_from_slice(b);
        self
    }

    fn map(&mut self, n: usize) -> &mut Cbor {
        self.head(5, n)
    }

    fn array(&mut self, n: usize) -> &mut Cbor {
        self.head(4, n)
    }

    fn raw(&mut self, b: &[u8]) -> &mut Cbor {
        self.0.extend_from_slice(b);
        self
    }
}

fn sessions() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();

    // A writer makes a document, a reader fetches it and tries to change it,
    // presence goes both ways, the reader leaves and the document is evicted.
    let mut s = Script::new([stored::EMPTY, stored::SEED, stored::EMPTY], [0; 3]);
    let w = s.connect(W);
    s.join(w, 0, 1);
    let r = s.connect(R);
    s.join(r, 1, 2);
    s.edit(W, 0, 1).sync(w, 0, false).flush().converse(w);
    s.sync(r, 0, true).flush().converse(r);
    s.edit(R, 0, 5).sync(r, 0, false).flush().converse(r);
    s.sync(w, 1, true).flush().converse(w);
    s.ephemeral(w, 0, 0, 1).ephemeral(r, 0, 0, 1).ephemeral(r, 0, 0, 1);
    s.leave(r).tick(255).flush().converse(w);
    seeds.push(("writer-and-reader".into(), s.into_bytes()));

    // Rights change under open documents.
    let mut s = Script::new([stored::SEED, stored::EMPTY, stored::EMPTY], [0, 0x10, 0x20]);
    let w = s.connect(W);
    s.join(w, 0, 0);
    let r = s.connect(R);
    s.join(r, 1, 0);
    s.sync(w, 0, true).sync(r, 0, true).flush().converse(w).converse(r);
    s.set_right(W, 0, 1).edit(W, 0, 2).sync(w, 0, false).flush().converse(w);
    s.set_right(W, 0, 0).converse(w);
    s.set_right(R, 0, 2).edit(R, 0, 3).sync(r, 0, false).flush().converse(r);
    let n = s.connect(N);
    s.join(n, 2, 3).sync(n, 0, true).flush();
    s.set_right(N, 0, 1).sync(n, 0, true).flush().converse(n);
    s.set_right(W, 0, 2).ephemeral(w, 0, 1, 4).access_changed();
    s.close_user(R).flush();
    seeds.push(("rights-change".into(), s.into_bytes()));

    // Storage fails: a read, a write, a lost acknowledgement; then a device
    // comes back with its saved sync state.
    let mut s = Script::new([stored::SEED, stored::EMPTY, stored::EMPTY], [0; 3]);
    let w = s.connect(W);
    s.join(w, 0, 1).sync(w, 0, true).complete(0, 0).tick(60).complete(0, 2);
    s.edit(W, 0, 7).sync(w, 0, false).complete(0, 0).tick(60).complete(0, 1).tick(60).flush().converse(w);
    s.disconnect(w).flush();
    let again = s.connect(W);
    s.join(again, 3, 1).edit(W, 0, 8).sync(again, 0, false).complete(0, 2).complete(0, 2).flush();
    s.converse(again);
    let other = s.connect(W);
    s.join(other, 2, 1).sync(other, 0, false).complete(0, 0).complete(0, 1).flush().converse(other);
    seeds.push(("storage-faults".into(), s.into_bytes()));

    // Broken storage, cut and garbage frames, protocol mistakes.
    let mut s = Script::new([stored::GARBAGE, stored::EMPTY, stored::SEED], [0; 3]);
    let w = s.connect(W);
    s.join(w, 0, 0).edit(W, 0, 1).sync(w, 0, false).flush();
    s.sync(w, 2, true).sync_cut(w, 2, 5).flush();
    let x = s.connect(W);
    s.sync(x, 1, false);
    let y = s.connect(W);
    s.join(y, 1, 0).sync_raw(y, 1, &[0x42, 1, 2, 3]).flush();
    let z = s.connect(R);
    s.join_flags(z, 0x60).raw(z, &[0xa1, 0x64, b't', b'y', b'p', b'e']);
    let v = s.connect(N);
    s.join(v, 2, 0).other(v, 0).other(v, 1).other(v, 2).other(v, 3).other(v, 4);
    seeds.push(("broken-and-bad-frames".into(), s.into_bytes()));

    // The same peer id joins twice; requests for a missing document, then the
    // requester gets it locally and offers it.
    let mut s = Script::new([stored::EMPTY; 3], [0; 3]);
    let a = s.connect(W);
    s.join(a, 0, 1).sync(a, 1, true).complete(0, 2);
    let b = s.connect(W);
    s.join(b, 0, 1).edit(W, 1, 9).sync(b, 1, false).tick(10).sync(b, 1, false).flush().converse(b);
    let c = s.connect(R);
    s.join(c, 1, 0).sync(c, 1, true).ephemeral(c, 1, 0, 0).ephemeral(b, 1, 0, 0).flush().converse(c);
    s.disconnect(b).disconnect(c).tick(255).tick(255);
    seeds.push(("replace-and-request".into(), s.into_bytes()));

    // Big edits: appended chunks outgrow the snapshot and are compacted;
    // a shutdown saves sync states.
    let mut s = Script::new([stored::SEED, stored::EMPTY, stored::EMPTY], [0; 3]);
    let w = s.connect(W);
    s.join(w, 0, 1).sync(w, 0, false).flush().converse(w);
    for i in 0..7 {
        s.edit(W, 0, 0xfc + i % 4).converse(w);
    }
    s.save_sync_states().flush();
    seeds.push(("compaction".into(), s.into_bytes()));

    // Regression: a write fails, and before its retry a peer's right changes;
    // `access_changed` must not answer with the changes that are not stored.
    let mut s = Script::new([stored::EMPTY; 3], [0; 3]);
    let w = s.connect(W);
    s.join(w, 0, 0).edit(W, 0, 1).sync(w, 0, false).flush().sync(w, 0, false);
    s.complete(0, 0).set_right(W, 0, 1).tick(60).flush();
    seeds.push(("write-fails-then-rights-change".into(), s.into_bytes()));

    // A raw frame that holds the reader's actor id (the check of what
    // reaches storage used to be off for such inputs), between honest
    // edits of both users.
    let mut s = Script::new([stored::SEED, stored::EMPTY, stored::EMPTY], [0; 3]);
    let w = s.connect(W);
    s.join(w, 0, 1).sync(w, 0, true).flush().converse(w);
    let r = s.connect(R);
    s.join(r, 1, 2).sync(r, 0, true).flush().converse(r);
    s.raw(w, b"medk-fuzz-user-r medk-fuzz-user-n");
    s.edit(R, 0, 3).sync(r, 0, false).flush().converse(r);
    s.edit(W, 0, 4).sync(w, 0, false).flush().converse(w);
    seeds.push(("frames-naming-the-reader".into(), s.into_bytes()));
    seeds
}
