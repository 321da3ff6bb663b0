//! The automerge-repo (v1) wire messages: one binary WebSocket frame is one
//! CBOR map with string keys.
//!
//! Decoding is hand-written over `minicbor`'s pull decoder rather than
//! derived, because real JS peers are loose in ways a derive rejects:
//! optional fields sent as CBOR `undefined`, counters as floats, `metadata`
//! as an alias of `peerMetadata`, `documentId` as raw bytes from old peers,
//! fields we do not know. Anything else malformed is a [`DecodeError`],
//! never a panic, whatever the bytes.

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use crate::ids::DocumentId;

/// The only protocol version there is; a `join` that does not offer it is
/// refused with an `error` message.
pub const PROTOCOL_VERSION: &str = "1";

/// Largest frame either side accepts. A 1,000-activity roadmap saves to a
/// few hundred KB; this leaves room for years of history while bounding
/// what one hostile frame can make the relay allocate.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// A peer's id as it introduces itself; automerge-repo uses random strings.
pub type PeerId = String;

/// What a peer tells about itself in the handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// Names the peer's durable storage: the relay keys persisted sync
    /// states by it, so a device that reconnects resumes where it left off.
    pub storage_id: Option<String>,
    /// An ephemeral peer keeps nothing, so there is no sync state to keep.
    pub is_ephemeral: bool,
}

/// One protocol message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// First message of a client.
    Join { sender_id: PeerId, metadata: PeerMetadata, supported_protocol_versions: Vec<String> },
    /// The answer to `join`.
    Peer { sender_id: PeerId, target_id: PeerId, metadata: PeerMetadata, selected_protocol_version: String },
    /// Sent by a peer that has nothing of the document yet.
    Request { sender_id: PeerId, target_id: PeerId, document_id: DocumentId, data: Vec<u8> },
    /// An Automerge sync message for one document.
    Sync { sender_id: PeerId, target_id: PeerId, document_id: DocumentId, data: Vec<u8> },
    /// The document does not exist here, or the peer may not see it.
    DocUnavailable { sender_id: PeerId, target_id: PeerId, document_id: DocumentId },
    /// medk's own (`doc-refused`): the relay did not take the peer's changes
    /// to the document and takes none from it for the rest of the session
    /// (Automerge's read-only flag says the same to Automerge). `message`
    /// says why for the person, in Russian; `detail` for a details line.
    /// `lasting`: the same would be refused on the next connection too (the
    /// change breaks the layout or is too big, the person's share is used
    /// up), so the app stops taking edits to the document. Other
    /// automerge-repo peers ignore the message, as they do any type they
    /// do not know.
    DocRefused {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        message: String,
        detail: String,
        lasting: bool,
    },
    /// Data for whoever has the document open right now (presence); never stored.
    Ephemeral {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        session_id: String,
        count: u64,
        data: Vec<u8>,
    },
    /// A peer says goodbye.
    Leave { sender_id: PeerId },
    /// Something went wrong on the other side; the connection closes after it.
    Error { message: String },
    /// A message type this side does not act on (`remote-subscription-change`,
    /// `remote-heads-changed`, or anything newer): accepted and ignored.
    Other { kind: String },
}

impl Message {
    /// The CBOR bytes of the message, as JS peers encode them.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        // Writing into a Vec cannot fail.
        let _ = self.encode_into(&mut e);
        e.into_writer()
    }

    fn encode_into(
        &self,
        e: &mut Encoder<Vec<u8>>,
    ) -> Result<(), minicbor::encode::Error<core::convert::Infallible>> {
        match self {
            Message::Join { sender_id, metadata, supported_protocol_versions } => {
                e.map(4)?.str("type")?.str("join")?.str("senderId")?.str(sender_id)?;
                e.str("peerMetadata")?;
                encode_metadata(e, metadata)?;
                e.str("supportedProtocolVersions")?.array(supported_protocol_versions.len() as u64)?;
                for v in supported_protocol_versions {
                    e.str(v)?;
                }
            }
            Message::Peer { sender_id, target_id, metadata, selected_protocol_version } => {
                e.map(5)?.str("type")?.str("peer")?.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?.str("peerMetadata")?;
                encode_metadata(e, metadata)?;
                e.str("selectedProtocolVersion")?.str(selected_protocol_version)?;
            }
            Message::Request { sender_id, target_id, document_id, data }
            | Message::Sync { sender_id, target_id, document_id, data } => {
                let kind = if matches!(self, Message::Request { .. }) { "request" } else { "sync" };
                e.map(5)?.str("type")?.str(kind)?.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?.str("documentId")?.str(&document_id.to_string())?;
                e.str("data")?.bytes(data)?;
            }
            Message::DocUnavailable { sender_id, target_id, document_id } => {
                e.map(4)?.str("type")?.str("doc-unavailable")?.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?.str("documentId")?.str(&document_id.to_string())?;
            }
            Message::DocRefused { sender_id, target_id, document_id, message, detail, lasting } => {
                e.map(7)?.str("type")?.str("doc-refused")?.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?.str("documentId")?.str(&document_id.to_string())?;
                e.str("message")?.str(message)?.str("detail")?.str(detail)?;
                e.str("lasting")?.bool(*lasting)?;
            }
            Message::Ephemeral { sender_id, target_id, document_id, session_id, count, data } => {
                e.map(7)?.str("type")?.str("ephemeral")?.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?.str("documentId")?.str(&document_id.to_string())?;
                e.str("sessionId")?.str(session_id)?.str("count")?.u64(*count)?;
                e.str("data")?.bytes(data)?;
            }
            Message::Leave { sender_id } => {
                e.map(2)?.str("type")?.str("leave")?.str("senderId")?.str(sender_id)?;
            }
            Message::Error { message } => {
                e.map(2)?.str("type")?.str("error")?.str("message")?.str(message)?;
            }
            Message::Other { kind } => {
                e.map(1)?.str("type")?.str(kind)?;
            }
        }
        Ok(())
    }

    /// Parses one frame.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let mut fields = Fields::read(bytes)?;
        let kind = fields.kind.take().ok_or(DecodeError::Missing("type"))?;
        let message = match kind.as_str() {
            "join" => Message::Join {
                sender_id: fields.sender()?,
                metadata: fields.metadata.take().unwrap_or_default(),
                supported_protocol_versions: fields.versions.take().unwrap_or_default(),
            },
            "peer" => Message::Peer {
                sender_id: fields.sender()?,
                target_id: fields.target()?,
                metadata: fields.metadata.take().unwrap_or_default(),
                selected_protocol_version: fields
                    .selected_version
                    .clone()
                    .ok_or(DecodeError::Missing("selectedProtocolVersion"))?,
            },
            "request" | "sync" => {
                let (sender_id, target_id, document_id) =
                    (fields.sender()?, fields.target()?, fields.document()?);
                let data = fields.data.take().ok_or(DecodeError::Missing("data"))?;
                if kind == "request" {
                    Message::Request { sender_id, target_id, document_id, data }
                } else {
                    Message::Sync { sender_id, target_id, document_id, data }
                }
            }
            "doc-unavailable" => Message::DocUnavailable {
                sender_id: fields.sender()?,
                target_id: fields.target()?,
                document_id: fields.document()?,
            },
            "ephemeral" => Message::Ephemeral {
                sender_id: fields.sender()?,
                target_id: fields.target()?,
                document_id: fields.document()?,
                session_id: fields.session_id.take().ok_or(DecodeError::Missing("sessionId"))?,
                count: fields.count.ok_or(DecodeError::Missing("count"))?,
                data: fields.data.take().ok_or(DecodeError::Missing("data"))?,
            },
            "doc-refused" => Message::DocRefused {
                sender_id: fields.sender()?,
                target_id: fields.target()?,
                document_id: fields.document()?,
                message: fields.message.take().unwrap_or_default(),
                detail: fields.detail.take().unwrap_or_default(),
                lasting: fields.lasting.unwrap_or(false),
            },
            "leave" => Message::Leave { sender_id: fields.sender()? },
            "error" => Message::Error { message: fields.message.take().unwrap_or_default() },
            _ => Message::Other { kind },
        };
        Ok(message)
    }
}

fn encode_metadata(
    e: &mut Encoder<Vec<u8>>,
    metadata: &PeerMetadata,
) -> Result<(), minicbor::encode::Error<core::convert::Infallible>> {
    match &metadata.storage_id {
        Some(id) => e.map(2)?.str("storageId")?.str(id)?,
        None => e.map(1)?,
    };
    e.str("isEphemeral")?.bool(metadata.is_ephemeral)?;
    Ok(())
}

/// Why a frame was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {0} bytes is over the limit")]
    TooLarge(usize),
    /// Details are left out on purpose: formatting the decoder's own errors
    /// costs the browser app kilobytes of download for no user benefit.
    #[error("not valid CBOR")]
    Cbor,
    #[error("a message is a CBOR map")]
    NotAMap,
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    #[error("field `{field}` has the wrong type")]
    WrongType { field: &'static str },
    #[error("field `documentId` is not a document id")]
    BadDocumentId,
    #[error("bytes after the message")]
    Trailing,
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(_: minicbor::decode::Error) -> Self {
        DecodeError::Cbor
    }
}

/// The fields of a message map, read in one pass whatever their order.
#[derive(Default)]
struct Fields {
    kind: Option<String>,
    sender_id: Option<String>,
    target_id: Option<String>,
    document_id: Option<Result<DocumentId, DecodeError>>,
    data: Option<Vec<u8>>,
    metadata: Option<PeerMetadata>,
    versions: Option<Vec<String>>,
    selected_version: Option<String>,
    session_id: Option<String>,
    count: Option<u64>,
    message: Option<String>,
    detail: Option<String>,
    lasting: Option<bool>,
}

impl Fields {
    fn read(bytes: &[u8]) -> Result<Fields, DecodeError> {
        let mut d = Decoder::new(bytes);
        let len = map_len(&mut d)?;
        let mut f = Fields::default();
        let mut seen = 0u64;
        while next_entry(&mut d, len, &mut seen)? {
            let Some(key) = string_key(&mut d)? else { continue };
            match key {
                "type" => f.kind = opt_string(&mut d, "type")?,
                "senderId" => f.sender_id = opt_string(&mut d, "senderId")?,
                "targetId" => f.target_id = opt_string(&mut d, "targetId")?,
                "documentId" => f.document_id = document_id(&mut d)?,
                "data" => f.data = opt_bytes(&mut d, "data")?,
                "peerMetadata" | "metadata" => f.metadata = metadata(&mut d)?,
                "supportedProtocolVersions" => f.versions = string_array(&mut d)?,
                "selectedProtocolVersion" => {
                    f.selected_version = opt_string(&mut d, "selectedProtocolVersion")?
                }
                "sessionId" => f.session_id = opt_string(&mut d, "sessionId")?,
                "count" => f.count = opt_count(&mut d)?,
                "message" => f.message = opt_string(&mut d, "message")?,
                "detail" => f.detail = opt_string(&mut d, "detail")?,
                "lasting" => f.lasting = opt_bool(&mut d, "lasting")?,
                _ => d.skip()?,
            }
        }
        if d.position() != bytes.len() {
            return Err(DecodeError::Trailing);
        }
        Ok(f)
    }

    fn sender(&mut self) -> Result<PeerId, DecodeError> {
        self.sender_id.take().ok_or(DecodeError::Missing("senderId"))
    }

    fn target(&mut self) -> Result<PeerId, DecodeError> {
        self.target_id.take().ok_or(DecodeError::Missing("targetId"))
    }

    fn document(&mut self) -> Result<DocumentId, DecodeError> {
        self.document_id.take().ok_or(DecodeError::Missing("documentId"))?
    }
}

fn map_len(d: &mut Decoder<'_>) -> Result<Option<u64>, DecodeError> {
    match d.datatype()? {
        Type::Map | Type::MapIndef => Ok(d.map()?),
        _ => Err(DecodeError::NotAMap),
    }
}

/// Steps through a map or an array of `len` entries (`None`: indefinite
/// length, ended by a break, which it consumes): true while one more follows.
fn next_entry(d: &mut Decoder<'_>, len: Option<u64>, seen: &mut u64) -> Result<bool, DecodeError> {
    match len {
        Some(n) if *seen >= n => return Ok(false),
        None if d.datatype()? == Type::Break => {
            d.skip()?;
            return Ok(false);
        }
        _ => {}
    }
    *seen += 1;
    Ok(true)
}

/// The key of a map entry, or `None` after skipping an entry whose key is
/// not a string (no field of ours has one).
fn string_key<'b>(d: &mut Decoder<'b>) -> Result<Option<&'b str>, DecodeError> {
    if d.datatype()? == Type::String {
        return Ok(Some(d.str()?));
    }
    d.skip()?;
    d.skip()?;
    Ok(None)
}

/// `undefined` and `null` both mean "not given".
fn absent(d: &mut Decoder<'_>) -> Result<bool, DecodeError> {
    match d.datatype()? {
        Type::Undefined | Type::Null => {
            d.skip()?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn wrong(field: &'static str) -> DecodeError {
    DecodeError::WrongType { field }
}

fn opt_string(d: &mut Decoder<'_>, field: &'static str) -> Result<Option<String>, DecodeError> {
    if absent(d)? {
        return Ok(None);
    }
    match d.datatype()? {
        Type::String => Ok(Some(d.str()?.to_owned())),
        Type::StringIndef => {
            let mut s = String::new();
            for part in d.str_iter()? {
                s.push_str(part?);
            }
            Ok(Some(s))
        }
        _ => Err(wrong(field)),
    }
}

fn opt_bytes(d: &mut Decoder<'_>, field: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
    if absent(d)? {
        return Ok(None);
    }
    match d.datatype()? {
        Type::Bytes => Ok(Some(d.bytes()?.to_vec())),
        Type::BytesIndef => {
            let mut v = Vec::new();
            for part in d.bytes_iter()? {
                v.extend_from_slice(part?);
            }
            Ok(Some(v))
        }
        // A `Uint8Array` encoded with tag 64 by a differently configured peer.
        Type::Tag => {
            d.tag()?;
            opt_bytes(d, field)
        }
        _ => Err(wrong(field)),
    }
}

/// A string id, or the 16 raw bytes older peers sent.
fn document_id(d: &mut Decoder<'_>) -> Result<Option<Result<DocumentId, DecodeError>>, DecodeError> {
    if absent(d)? {
        return Ok(None);
    }
    let id = match d.datatype()? {
        Type::String | Type::StringIndef => {
            let text = opt_string(d, "documentId")?.unwrap_or_default();
            DocumentId::parse(&text).map_err(|_| DecodeError::BadDocumentId)
        }
        Type::Bytes | Type::BytesIndef | Type::Tag => {
            let bytes = opt_bytes(d, "documentId")?.unwrap_or_default();
            <[u8; 16]>::try_from(bytes.as_slice())
                .map(DocumentId::from_bytes)
                .map_err(|_| DecodeError::BadDocumentId)
        }
        _ => return Err(wrong("documentId")),
    };
    Ok(Some(id))
}

/// Counters are integers, but JS may encode a large one as a float.
fn opt_bool(d: &mut Decoder<'_>, field: &'static str) -> Result<Option<bool>, DecodeError> {
    if absent(d)? {
        return Ok(None);
    }
    match d.datatype()? {
        Type::Bool => Ok(Some(d.bool()?)),
        _ => Err(wrong(field)),
    }
}

fn opt_count(d: &mut Decoder<'_>) -> Result<Option<u64>, DecodeError> {
    if absent(d)? {
        return Ok(None);
    }
    let value = match d.datatype()? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => d.u64()?,
        Type::F16 | Type::F32 | Type::F64 => {
            let f = d.f64()?;
            if !(f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64) {
                return Err(wrong("count"));
            }
            f as u64
        }
        _ => return Err(wrong("count")),
    };
    Ok(Some(value))
}

fn metadata(d: &mut Decoder<'_>) -> Result<Option<PeerMetadata>, DecodeError> {
    if absent(d)? {
        return Ok(None);
    }
    let len = map_len(d)?;
    let mut m = PeerMetadata::default();
    let mut seen = 0u64;
    while next_entry(d, len, &mut seen)? {
        let Some(key) = string_key(d)? else { continue };
        match key {
            "storageId" => m.storage_id = opt_string(d, "storageId")?,
            "isEphemeral" => {
                m.is_ephemeral = match d.datatype()? {
                    Type::Bool => d.bool()?,
                    _ => {
                        d.skip()?;
                        false
                    }
                }
            }
            _ => d.skip()?,
        }
    }
    Ok(Some(m))
}

fn string_array(d: &mut Decoder<'_>) -> Result<Option<Vec<String>>, DecodeError> {
    if absent(d)? {
        return Ok(None);
    }
    let len = match d.datatype()? {
        Type::Array | Type::ArrayIndef => d.array()?,
        _ => return Err(wrong("supportedProtocolVersions")),
    };
    let mut out = Vec::new();
    let mut seen = 0u64;
    while next_entry(d, len, &mut seen)? {
        match d.datatype()? {
            Type::String | Type::StringIndef => out.extend(opt_string(d, "supportedProtocolVersions")?),
            _ => d.skip()?,
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> DocumentId {
        DocumentId::from_bytes([7; 16])
    }

    #[test]
    fn every_message_round_trips() {
        let messages = vec![
            Message::Join {
                sender_id: "a".into(),
                metadata: PeerMetadata { storage_id: Some("s".into()), is_ephemeral: false },
                supported_protocol_versions: vec!["1".into()],
            },
            Message::Peer {
                sender_id: "r".into(),
                target_id: "a".into(),
                metadata: PeerMetadata { storage_id: None, is_ephemeral: true },
                selected_protocol_version: "1".into(),
            },
            Message::Request {
                sender_id: "a".into(),
                target_id: "r".into(),
                document_id: doc(),
                data: vec![1, 2],
            },
            Message::Sync { sender_id: "a".into(), target_id: "r".into(), document_id: doc(), data: vec![] },
            Message::DocUnavailable { sender_id: "r".into(), target_id: "a".into(), document_id: doc() },
            Message::DocRefused {
                sender_id: "r".into(),
                target_id: "a".into(),
                document_id: doc(),
                message: "изменение слишком большое".into(),
                detail: "600001 operations".into(),
                lasting: true,
            },
            Message::Ephemeral {
                sender_id: "a".into(),
                target_id: "r".into(),
                document_id: doc(),
                session_id: "x".into(),
                count: 3,
                data: vec![9],
            },
            Message::Leave { sender_id: "a".into() },
            Message::Error { message: "нет".into() },
            Message::Other { kind: "remote-heads-changed".into() },
        ];
        for m in messages {
            assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }

    /// What a JS peer sends: `undefined` for a missing storage id, the
    /// `metadata` alias, a float counter, an unknown field, a byte-string id.
    #[test]
    fn js_looseness_is_accepted() {
        let mut e = Encoder::new(Vec::new());
        e.map(5).unwrap().str("type").unwrap().str("join").unwrap();
        e.str("senderId").unwrap().str("peer-1").unwrap();
        e.str("metadata").unwrap().map(2).unwrap();
        e.str("storageId").unwrap().undefined().unwrap().str("isEphemeral").unwrap().bool(true).unwrap();
        e.str("supportedProtocolVersions").unwrap().array(1).unwrap().str("1").unwrap();
        e.str("extra").unwrap().array(2).unwrap().u8(1).unwrap().map(0).unwrap();
        let m = Message::decode(&e.into_writer()).unwrap();
        assert_eq!(
            m,
            Message::Join {
                sender_id: "peer-1".into(),
                metadata: PeerMetadata { storage_id: None, is_ephemeral: true },
                supported_protocol_versions: vec!["1".into()],
            }
        );

        let mut e = Encoder::new(Vec::new());
        e.map(7).unwrap().str("type").unwrap().str("ephemeral").unwrap();
        e.str("senderId").unwrap().str("a").unwrap().str("targetId").unwrap().str("b").unwrap();
        e.str("documentId").unwrap().bytes(&[7; 16]).unwrap();
        e.str("sessionId").unwrap().str("s").unwrap().str("count").unwrap().f64(12.0).unwrap();
        e.str("data").unwrap().bytes(&[1]).unwrap();
        match Message::decode(&e.into_writer()).unwrap() {
            Message::Ephemeral { document_id, count, .. } => {
                assert_eq!(document_id, doc());
                assert_eq!(count, 12);
            }
            other => panic!("{other:?}"),
        }
    }

    /// Indefinite-length maps and arrays, and a key that is not a string.
    #[test]
    fn indefinite_lengths_and_odd_keys_are_read() {
        let mut e = Encoder::new(Vec::new());
        e.begin_map().unwrap().str("type").unwrap().str("join").unwrap();
        e.u8(7).unwrap().str("a number key, skipped").unwrap();
        e.str("senderId").unwrap().str("p").unwrap();
        e.str("peerMetadata").unwrap().begin_map().unwrap();
        e.str("storageId").unwrap().str("s").unwrap().end().unwrap();
        e.str("supportedProtocolVersions").unwrap().begin_array().unwrap();
        e.u8(0).unwrap().str("1").unwrap().end().unwrap();
        e.end().unwrap();
        assert_eq!(
            Message::decode(&e.into_writer()).unwrap(),
            Message::Join {
                sender_id: "p".into(),
                metadata: PeerMetadata { storage_id: Some("s".into()), is_ephemeral: false },
                supported_protocol_versions: vec!["1".into()],
            }
        );
    }

    #[test]
    fn malformed_frames_are_errors() {
        let sync = Message::Sync {
            sender_id: "a".into(),
            target_id: "r".into(),
            document_id: doc(),
            data: vec![1; 40],
        }
        .encode();
        // Every truncation of a valid frame is an error, never a panic.
        for cut in 0..sync.len() {
            assert!(Message::decode(&sync[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = sync.clone();
        trailing.push(0);
        assert_eq!(Message::decode(&trailing), Err(DecodeError::Trailing));
        assert!(matches!(Message::decode(&[0x83, 1, 2, 3]), Err(DecodeError::NotAMap)));
        // A map declaring 2^63 entries, or a byte string of 2^32 bytes, in a few bytes.
        assert!(Message::decode(&[0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(
            Message::decode(&[0xa1, 0x64, b'd', b'a', b't', b'a', 0x5a, 0xff, 0xff, 0xff, 0xff]).is_err()
        );
        let mut e = Encoder::new(Vec::new());
        e.map(2).unwrap().str("type").unwrap().str("sync").unwrap();
        e.str("senderId").unwrap().u32(5).unwrap();
        assert!(matches!(
            Message::decode(&e.into_writer()),
            Err(DecodeError::WrongType { field: "senderId", .. })
        ));
        let mut e = Encoder::new(Vec::new());
        e.map(5).unwrap().str("type").unwrap().str("sync").unwrap();
        e.str("senderId").unwrap().str("a").unwrap().str("targetId").unwrap().str("b").unwrap();
        e.str("documentId").unwrap().str("not-an-id").unwrap().str("data").unwrap().bytes(&[]).unwrap();
        assert_eq!(Message::decode(&e.into_writer()), Err(DecodeError::BadDocumentId));
    }

    #[test]
    fn deeply_nested_unknown_fields_do_not_overflow_the_stack() {
        let mut frame = vec![0xa3];
        frame.extend_from_slice(&[0x64, b't', b'y', b'p', b'e', 0x65, b'l', b'e', b'a', b'v', b'e']);
        frame.extend_from_slice(&[0x68, b's', b'e', b'n', b'd', b'e', b'r', b'I', b'd', 0x61, b'a']);
        frame.extend_from_slice(&[0x61, b'z']);
        frame.extend(std::iter::repeat_n(0x81u8, 100_000));
        frame.push(0x00);
        assert_eq!(Message::decode(&frame).unwrap(), Message::Leave { sender_id: "a".into() });
    }
}
