//! Presence: who else has a roadmap open right now. Sent as the data of
//! ephemeral messages (a CBOR map, as automerge-repo peers send theirs);
//! never stored.

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

/// A device announces itself this often while a roadmap is open.
pub const ANNOUNCE_EVERY_MS: u64 = 10_000;

/// An announcement older than this means the device has gone.
pub const FORGET_AFTER_MS: u64 = 25_000;

/// What one device says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    /// The name the person gave for others to see.
    pub name: String,
    /// False when the roadmap was just closed (others drop it at once).
    pub open: bool,
}

impl Presence {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        let _ = e.map(3).and_then(|e| e.str("medk")).and_then(|e| e.str("presence"));
        let _ = e.str("name").and_then(|e| e.str(&self.name));
        let _ = e.str("open").and_then(|e| e.bool(self.open));
        e.into_writer()
    }

    /// `None` for anything that is not a medk presence (other apps' ephemeral
    /// data passes through the same channel).
    pub fn decode(bytes: &[u8]) -> Option<Presence> {
        let mut d = Decoder::new(bytes);
        let len = d.map().ok()??;
        let (mut ours, mut name, mut open) = (false, None, true);
        for _ in 0..len {
            if d.datatype().ok()? != Type::String {
                return None;
            }
            match d.str().ok()? {
                "medk" => ours = d.str().ok()? == "presence",
                "name" => name = Some(d.str().ok()?.chars().take(80).collect::<String>()),
                "open" => open = d.bool().ok()?,
                _ => d.skip().ok()?,
            }
        }
        (ours && d.position() == bytes.len()).then_some(Presence { name: name?, open })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_foreign_data() {
        let p = Presence { name: "Анна Петровна".into(), open: true };
        assert_eq!(Presence::decode(&p.encode()), Some(p));
        assert_eq!(Presence::decode(&[0xa1, 0x61, b'x', 0x01]), None);
        assert_eq!(Presence::decode(b"garbage"), None);
        assert_eq!(Presence::decode(&[]), None);
    }
}
