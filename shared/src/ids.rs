//! Identifiers: documents are named the way automerge-repo names them, rows
//! (sections, activities, working-group members) by short random ids.
//!
//! Randomness is an input: callers pass the random bytes, so this module
//! stays deterministic and testable.

use std::fmt;
use std::str::FromStr;

/// A document id: 16 random bytes, written as bs58check like automerge-repo
/// (`automerge:<id>` is its URL), so any automerge-repo peer can name it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

impl DocumentId {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// A well-known id derived from a name (the first 16 bytes of
    /// SHA-256 over `namespace`, a NUL and `name`): documents every device
    /// and the relay must agree on without asking anyone, such as a
    /// school's file.
    pub fn derived(namespace: &str, name: &str) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(namespace.as_bytes())
            .chain_update([0])
            .chain_update(name.as_bytes())
            .finalize();
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The automerge-repo URL of the document: `automerge:<bs58check id>`.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }

    /// Accepts both the bare id and the `automerge:` URL.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let bare = text.trim().strip_prefix("automerge:").unwrap_or(text.trim());
        let bytes = bs58::decode(bare).with_check(None).into_vec().map_err(|_| IdError::NotBase58Check)?;
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| IdError::WrongLength)?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("not a document id (bs58check expected)")]
    NotBase58Check,
    #[error("a document id has 16 bytes")]
    WrongLength,
}

/// The id of a row inside a roadmap (a section, an activity, a member).
///
/// Stable for the row's whole life, whatever moves or renames happen, so
/// concurrent inserts, moves and deletes address rows, never positions.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RowId(String);

impl RowId {
    /// A new id from 8 random bytes (64 bits: collisions within one roadmap
    /// are not a practical concern).
    pub fn from_random(bytes: [u8; 8]) -> Self {
        Self(bs58::encode(bytes).into_string())
    }

    /// Wraps an id read from a document. Any non-empty string is accepted:
    /// other clients may mint ids differently.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_id_round_trips_through_text_and_url() {
        let id = DocumentId::from_bytes([7; 16]);
        assert_eq!(DocumentId::parse(&id.to_string()), Ok(id));
        assert_eq!(DocumentId::parse(&id.url()), Ok(id));
        assert!(id.url().starts_with("automerge:"));
    }

    #[test]
    fn document_id_rejects_bad_text() {
        assert_eq!(DocumentId::parse("hello"), Err(IdError::NotBase58Check));
        let short = bs58::encode([1u8; 8]).with_check().into_string();
        assert_eq!(DocumentId::parse(&short), Err(IdError::WrongLength));
        let mut id = DocumentId::from_bytes([9; 16]).to_string();
        id.pop();
        id.push('z');
        assert!(DocumentId::parse(&id).is_err(), "checksum must be verified");
    }

    #[test]
    fn row_ids_differ_for_different_bytes() {
        assert_ne!(RowId::from_random([1; 8]), RowId::from_random([2; 8]));
    }
}
