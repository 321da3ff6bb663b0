//! Reading a typed document: as it is now or as it stood at past heads, in
//! place (Automerge's `*_at` reads; no copy of the history), and
//! tolerantly. Every reader of a roadmap, a school file or the catalogue
//! goes through [`View`], so the present and the past are read by the same
//! rules, and a value that is missing or of another type than the layout
//! says reads as empty instead of failing: a document another program
//! touched still opens (each kind's `problems` names what read as empty).

use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value};

/// A document read now (`at: None`) or at past heads.
pub struct View<'a, D = AutoCommit> {
    doc: &'a D,
    at: Option<&'a [ChangeHash]>,
}

// By hand: derived, they would ask `D` to be `Copy` too.
impl<D> Clone for View<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for View<'_, D> {}

impl<'a, D: ReadDoc> View<'a, D> {
    /// The document as it is now.
    pub fn now(doc: &'a D) -> Self {
        View { doc, at: None }
    }

    /// The document as it stood at `heads`.
    pub fn at(doc: &'a D, heads: &'a [ChangeHash]) -> Self {
        View { doc, at: Some(heads) }
    }

    /// The value under `prop` of `obj`; `None` when absent (or `obj` is not
    /// an object of the document).
    pub fn get(self, obj: &ObjId, prop: impl Into<automerge::Prop>) -> Option<(Value<'a>, ObjId)> {
        match self.at {
            None => self.doc.get(obj, prop),
            Some(heads) => self.doc.get_at(obj, prop, heads),
        }
        .ok()
        .flatten()
    }

    /// The object of type `kind` under `key` of `parent`; `None` when it is
    /// absent or of another type.
    pub fn object(self, parent: &ObjId, key: &str, kind: ObjType) -> Option<ObjId> {
        match self.get(parent, key) {
            Some((Value::Object(t), id)) if t == kind => Some(id),
            _ => None,
        }
    }

    /// The map under `key` of `parent`.
    pub fn map(self, parent: &ObjId, key: &str) -> Option<ObjId> {
        self.object(parent, key, ObjType::Map)
    }

    /// The list under `key` of `parent`.
    pub fn list(self, parent: &ObjId, key: &str) -> Option<ObjId> {
        self.object(parent, key, ObjType::List)
    }

    /// The scalar under `key` of `obj`.
    pub fn scalar(self, obj: &ObjId, key: &str) -> Option<ScalarValue> {
        match self.get(obj, key) {
            Some((Value::Scalar(s), _)) => Some(s.into_owned()),
            _ => None,
        }
    }

    /// The string under `key` of `obj`; `None` when absent or not a string.
    pub fn str(self, obj: &ObjId, key: &str) -> Option<String> {
        match self.scalar(obj, key)? {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        }
    }

    /// Whether `key` of `obj` is `true` (anything else reads as `false`).
    pub fn bool(self, obj: &ObjId, key: &str) -> bool {
        matches!(self.scalar(obj, key), Some(ScalarValue::Boolean(true)))
    }

    /// The whole number under `key` of `obj` ([`as_i64`]).
    pub fn i64(self, obj: &ObjId, key: &str) -> Option<i64> {
        as_i64(&self.scalar(obj, key)?)
    }

    /// [`Self::i64`], when it is not negative.
    pub fn u64(self, obj: &ObjId, key: &str) -> Option<u64> {
        self.i64(obj, key).and_then(|n| u64::try_from(n).ok())
    }

    /// The text under `key` of `parent`: an Automerge Text, or a plain
    /// string another program wrote instead; empty otherwise.
    pub fn text(self, parent: &ObjId, key: &str) -> String {
        match self.get(parent, key) {
            Some((Value::Object(ObjType::Text), id)) => self.text_of(&id).unwrap_or_default(),
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(s) => s.to_string(),
                _ => String::new(),
            },
            _ => String::new(),
        }
    }

    /// The content of the Text object `text`.
    pub fn text_of(self, text: &ObjId) -> Option<String> {
        match self.at {
            None => self.doc.text(text),
            Some(heads) => self.doc.text_at(text, heads),
        }
        .ok()
    }

    pub fn map_range(self, obj: &ObjId) -> automerge::iter::MapRange<'a> {
        match self.at {
            None => self.doc.map_range(obj, ..),
            Some(heads) => self.doc.map_range_at(obj, .., heads),
        }
    }

    pub fn list_range(self, obj: &ObjId) -> automerge::iter::ListRange<'a> {
        match self.at {
            None => self.doc.list_range(obj, ..),
            Some(heads) => self.doc.list_range_at(obj, .., heads),
        }
    }

    pub fn keys(self, obj: &ObjId) -> automerge::iter::Keys<'a> {
        match self.at {
            None => self.doc.keys(obj),
            Some(heads) => self.doc.keys_at(obj, heads),
        }
    }

    pub fn length(self, obj: &ObjId) -> usize {
        match self.at {
            None => self.doc.length(obj),
            Some(heads) => self.doc.length_at(obj, heads),
        }
    }

    /// The entries of `map` that are maps themselves (a document's rows),
    /// by key.
    pub fn rows(self, map: &ObjId) -> Vec<(String, ObjId)> {
        self.map_range(map)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
            .map(|item| (item.key.to_string(), item.id()))
            .collect()
    }

    /// The entries of `obj`, read in one pass ([`Fields`]).
    pub fn fields(self, obj: &ObjId) -> Fields {
        let entries = self.map_range(obj).map(|item| {
            let id = matches!(item.value, automerge::ValueRef::Object(_)).then(|| item.id());
            (item.key.to_string(), item.value.into_value(), id)
        });
        Fields(entries.collect())
    }
}

/// A map's entries, read in one pass over it: a `get` per key is a seek
/// each, several times slower on a document with many rows. Read like
/// [`View`]: what is missing or of another type reads as empty.
pub struct Fields(Vec<(String, Value<'static>, Option<ObjId>)>);

impl Fields {
    pub fn scalar(&self, key: &str) -> Option<&ScalarValue> {
        match self.0.iter().find(|(k, ..)| k == key) {
            Some((_, Value::Scalar(s), _)) => Some(s.as_ref()),
            _ => None,
        }
    }

    /// The string under `key`; empty when absent or not a string.
    pub fn str(&self, key: &str) -> String {
        match self.scalar(key) {
            Some(ScalarValue::Str(s)) => s.to_string(),
            _ => String::new(),
        }
    }

    pub fn bool(&self, key: &str) -> bool {
        matches!(self.scalar(key), Some(ScalarValue::Boolean(true)))
    }

    pub fn i64(&self, key: &str) -> Option<i64> {
        as_i64(self.scalar(key)?)
    }

    /// The object of type `kind` under `key`.
    pub fn object(&self, key: &str, kind: ObjType) -> Option<ObjId> {
        match self.0.iter().find(|(k, ..)| k == key) {
            Some((_, Value::Object(t), id)) if *t == kind => id.clone(),
            _ => None,
        }
    }
}

/// A scalar as a whole number: integers, floats (cut toward zero) and
/// timestamps; `None` for anything else.
fn as_i64(value: &ScalarValue) -> Option<i64> {
    match *value {
        ScalarValue::Int(n) => Some(n),
        ScalarValue::Uint(n) => i64::try_from(n).ok(),
        ScalarValue::F64(n) => Some(n as i64),
        ScalarValue::Timestamp(n) => Some(n),
        _ => None,
    }
}
