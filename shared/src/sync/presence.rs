//! Presence: who else has a roadmap open right now. Sent as the data of
//! ephemeral messages (a CBOR map, as automerge-repo peers send theirs);
//! never stored. Every tab announces itself; the list shows each person
//! once ([`people`]).

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
    /// Their person id (empty when signed out, or from an older app): one
    /// person's tabs and devices are shown as one.
    pub person: String,
}

/// Longest person id taken from a presence (the server's are 16 characters).
const MAX_PERSON_CHARS: usize = 64;

/// The names to show for what `announced` (each tab's person id, name and
/// when it was last heard): one per person (by id; by name when it has
/// none), the name they announced last, in alphabetical order, each name
/// once.
pub fn people<'a>(announced: impl IntoIterator<Item = (&'a str, &'a str, u64)>) -> Vec<String> {
    let mut latest: std::collections::HashMap<&str, (u64, &str)> = std::collections::HashMap::new();
    for (person, name, seen) in announced {
        let key = if person.is_empty() { name } else { person };
        let entry = latest.entry(key).or_insert((seen, name));
        if seen >= entry.0 {
            *entry = (seen, name);
        }
    }
    let mut names: Vec<String> = latest.into_values().map(|(_, name)| name.to_owned()).collect();
    names.sort();
    names.dedup();
    names
}

impl Presence {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        let fields = if self.person.is_empty() { 3 } else { 4 };
        let _ = e.map(fields).and_then(|e| e.str("medk")).and_then(|e| e.str("presence"));
        let _ = e.str("name").and_then(|e| e.str(&self.name));
        let _ = e.str("open").and_then(|e| e.bool(self.open));
        if !self.person.is_empty() {
            let _ = e.str("person").and_then(|e| e.str(&self.person));
        }
        e.into_writer()
    }

    /// `None` for anything that is not a medk presence (other apps' ephemeral
    /// data passes through the same channel).
    pub fn decode(bytes: &[u8]) -> Option<Presence> {
        let mut d = Decoder::new(bytes);
        let len = d.map().ok()??;
        let (mut ours, mut name, mut open, mut person) = (false, None, true, String::new());
        for _ in 0..len {
            if d.datatype().ok()? != Type::String {
                return None;
            }
            match d.str().ok()? {
                "medk" => ours = d.str().ok()? == "presence",
                "name" => name = Some(d.str().ok()?.chars().take(80).collect::<String>()),
                "open" => open = d.bool().ok()?,
                "person" => person = d.str().ok()?.chars().take(MAX_PERSON_CHARS).collect(),
                _ => d.skip().ok()?,
            }
        }
        (ours && d.position() == bytes.len()).then_some(Presence { name: name?, open, person })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_foreign_data() {
        let p = Presence { name: "Анна Петровна".into(), open: true, person: String::new() };
        assert_eq!(Presence::decode(&p.encode()), Some(p));
        let p = Presence { name: "Анна Петровна".into(), open: false, person: "p-anna".into() };
        assert_eq!(Presence::decode(&p.encode()), Some(p));
        assert_eq!(Presence::decode(&[0xa1, 0x61, b'x', 0x01]), None);
        assert_eq!(Presence::decode(b"garbage"), None);
        assert_eq!(Presence::decode(&[]), None);
    }

    /// A person with three tabs and a second device is named once, by the
    /// name they gave last; tabs of an older app (no person id) go by their
    /// name; a name two people share is shown once.
    #[test]
    fn each_person_is_named_once() {
        let announced = [
            ("p-anna", "Анна", 10),
            ("p-anna", "Анна", 12),
            ("p-anna", "Анна Петровна", 15),
            ("p-ivan", "Иван", 11),
            ("p-ivan2", "Иван", 11),
            ("", "Гость", 9),
            ("", "Гость", 14),
        ];
        assert_eq!(people(announced), vec!["Анна Петровна", "Гость", "Иван"]);
        let two = [("p-ivan", "Иван", 1), ("p-ivan2", "Иван Сергеевич", 1)];
        assert_eq!(people(two), vec!["Иван", "Иван Сергеевич"]);
    }
}
