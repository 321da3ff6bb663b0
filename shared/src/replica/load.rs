//! Reading a document back from whatever its device stored: snapshots and
//! batches of changes, in any order, overlapping, duplicated, some of them
//! unreadable, some changes still waiting for others they depend on.
//!
//! Why not `AutoCommit::load` and `load_incremental`: `load` fails on a
//! first piece that is a change rather than a snapshot (a device lost its
//! roadmaps to exactly that), and `load_incremental` silently drops the rest
//! of a piece after a chunk it cannot parse, and on an empty document drops
//! a whole piece with one bad chunk. Here every piece is split into its
//! Automerge chunks (`split`), each chunk is read on its own, and a piece
//! counts as read only when every chunk of it was: so a caller never
//! deletes bytes whose content is not in the document it holds.

use automerge::{AutoCommit, Change, ChangeHash};

/// The first bytes of every Automerge chunk.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Chunk types (the byte after the checksum).
const DOCUMENT: u8 = 0;

/// What loading made of the pieces.
pub struct Loaded {
    /// Everything readable, applied (or, when it depends on a change nobody
    /// stored here, kept waiting inside the document: [`Self::waiting_for`]).
    pub doc: AutoCommit,
    /// For each piece passed in, in order: `None` if every chunk of it is in
    /// `doc`, or why some of it could not be read (what could is in `doc`).
    pub unreadable: Vec<Option<String>>,
    /// Changes the document holds but cannot apply yet: the hashes they
    /// wait for. Empty when the stored pieces are complete.
    pub waiting_for: Vec<ChangeHash>,
    /// The changes that wait: Automerge keeps them queued in `doc` (they
    /// apply once what they wait for arrives, and `save()` keeps them), but
    /// nothing that reads the document's changes sees them.
    pub waiting: Vec<Change>,
}

impl Loaded {
    /// Whether every piece was read whole.
    pub fn complete(&self) -> bool {
        self.unreadable.iter().all(Option::is_none)
    }
}

/// One Automerge chunk inside a stored piece.
struct Chunk<'a> {
    kind: u8,
    bytes: &'a [u8],
}

/// Splits stored bytes into Automerge chunks by their headers (magic,
/// checksum, type, LEB128 length). Automerge parses chunks but does not
/// expose iterating over them, and this framing is all that is needed to
/// read each chunk on its own.
fn split(mut bytes: &[u8]) -> (Vec<Chunk<'_>>, Option<String>) {
    let mut chunks = Vec::new();
    while !bytes.is_empty() {
        match chunk_len(bytes) {
            Some((kind, len)) => {
                let (chunk, rest) = bytes.split_at(len);
                chunks.push(Chunk { kind, bytes: chunk });
                bytes = rest;
            }
            None => {
                let error = format!("{} байт не удалось разобрать", bytes.len());
                return (chunks, Some(error));
            }
        }
    }
    (chunks, None)
}

/// The type and whole length of the chunk `bytes` starts with.
fn chunk_len(bytes: &[u8]) -> Option<(u8, usize)> {
    if bytes.get(..4)? != MAGIC {
        return None;
    }
    let kind = *bytes.get(8)?;
    let mut len: u64 = 0;
    let mut header = 9;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(header)?;
        header += 1;
        len |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            let total = header.checked_add(usize::try_from(len).ok()?)?;
            return (total <= bytes.len()).then_some((kind, total));
        }
    }
    None
}

/// The heads a snapshot chunk records (its body starts with its actors,
/// then its heads), read without loading it: a second snapshot whose heads
/// the first already holds adds nothing and need not be loaded.
fn snapshot_heads(chunk: &[u8]) -> Option<Vec<ChangeHash>> {
    let mut at = 9;
    let uleb = |at: &mut usize| -> Option<usize> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *chunk.get(*at)?;
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(value).ok();
            }
        }
        None
    };
    uleb(&mut at)?; // the body's length
    let actors = uleb(&mut at)?;
    for _ in 0..actors {
        let len = uleb(&mut at)?;
        at = at.checked_add(len)?;
    }
    let count = uleb(&mut at)?;
    let mut heads = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let bytes = chunk.get(at..at.checked_add(32)?)?;
        heads.push(ChangeHash::try_from(bytes).ok()?);
        at += 32;
    }
    Some(heads)
}

/// What stored pieces hold, split into chunks and parsed, before any is
/// applied.
struct Parsed<'a> {
    unreadable: Vec<Option<String>>,
    /// Snapshot chunks, with the piece each is from.
    snapshots: Vec<(usize, &'a [u8])>,
    changes: Vec<(usize, Change)>,
}

fn parse<'a>(pieces: &[&'a [u8]]) -> Parsed<'a> {
    let mut parsed =
        Parsed { unreadable: vec![None; pieces.len()], snapshots: Vec::new(), changes: Vec::new() };
    for (i, piece) in pieces.iter().enumerate() {
        let (chunks, error) = split(piece);
        if let Some(error) = error {
            parsed.unreadable[i] = Some(error);
        }
        for chunk in chunks {
            if chunk.kind == DOCUMENT {
                parsed.snapshots.push((i, chunk.bytes));
                continue;
            }
            match Change::try_from(chunk.bytes) {
                Ok(change) => parsed.changes.push((i, change)),
                Err(e) => note(&mut parsed.unreadable[i], format!("изменение не читается: {e}")),
            }
        }
    }
    parsed
}

/// Reads `pieces` into one document (see the module doc).
pub fn load(pieces: &[&[u8]]) -> Loaded {
    let Parsed { mut unreadable, snapshots, changes } = parse(pieces);
    // The newest readable snapshot is the base (loading a snapshot is much
    // faster than applying its changes); older or concurrent ones (two
    // tabs compacting) add what the base lacks.
    let mut doc: Option<AutoCommit> = None;
    for (i, bytes) in snapshots.into_iter().rev() {
        match &mut doc {
            Some(base) => merge_snapshot(base, bytes, &mut unreadable[i]),
            None => match AutoCommit::load(bytes) {
                Ok(snapshot) => doc = Some(snapshot),
                Err(e) => note(&mut unreadable[i], format!("снимок не читается: {e}")),
            },
        }
    }
    let mut doc = doc.unwrap_or_default();
    apply_changes(&mut doc, &changes, &mut unreadable);
    let waiting_for = doc.get_missing_deps(&[]);
    let waiting = if waiting_for.is_empty() {
        Vec::new()
    } else {
        let mut seen = std::collections::BTreeSet::new();
        changes
            .into_iter()
            .map(|(_, change)| change)
            .filter(|change| seen.insert(change.hash()) && !has_change(&mut doc, &change.hash()))
            .collect()
    };
    Loaded { doc, unreadable, waiting_for, waiting }
}

/// Reads `pieces` into a document already in memory (what another tab
/// stored since): for each piece, in order, `None` if every chunk of it is
/// in `doc` now, or why some of it could not be read. A snapshot whose
/// heads `doc` has is not even loaded.
pub fn load_into(doc: &mut AutoCommit, pieces: &[&[u8]]) -> Vec<Option<String>> {
    let Parsed { mut unreadable, snapshots, changes } = parse(pieces);
    for (i, bytes) in snapshots.into_iter().rev() {
        merge_snapshot(doc, bytes, &mut unreadable[i]);
    }
    apply_changes(doc, &changes, &mut unreadable);
    unreadable
}

/// Adds to `base` what a snapshot holds that it lacks.
fn merge_snapshot(base: &mut AutoCommit, bytes: &[u8], unreadable: &mut Option<String>) {
    if let Some(heads) = snapshot_heads(bytes)
        && heads.iter().all(|h| has_change(base, h))
    {
        return;
    }
    match AutoCommit::load(bytes) {
        Ok(mut snapshot) => {
            let heads = snapshot.get_heads();
            if !heads.iter().all(|h| has_change(base, h))
                && let Err(e) = base.merge(&mut snapshot)
            {
                note(unreadable, format!("снимок не сливается: {e}"));
            }
        }
        Err(e) => note(unreadable, format!("снимок не читается: {e}")),
    }
}

/// Applies change chunks. One batch is fastest; a batch fails whole on one
/// bad change (a duplicate sequence number from a forged or damaged piece),
/// and then each change is applied alone so only the bad ones are left out.
fn apply_changes(doc: &mut AutoCommit, changes: &[(usize, Change)], unreadable: &mut [Option<String>]) {
    let batch: Vec<Change> = changes.iter().map(|(_, c)| c.clone()).collect();
    if doc.apply_changes(batch).is_err() {
        for (i, change) in changes {
            if let Err(e) = doc.apply_changes([change.clone()]) {
                note(&mut unreadable[*i], format!("изменение не применяется: {e}"));
            }
        }
    }
}

/// Whether stored bytes start with a snapshot (a document chunk).
pub fn is_snapshot(bytes: &[u8]) -> bool {
    chunk_len(bytes).is_some_and(|(kind, _)| kind == DOCUMENT)
}

/// Every change in `bytes` that can be read, whatever else is in there
/// (recovering what a damaged copy still holds).
pub fn readable_changes(bytes: &[u8]) -> Vec<Change> {
    readable_changes_of(bytes).0
}

/// The same, and whether all of `bytes` could be read.
pub fn readable_changes_of(bytes: &[u8]) -> (Vec<Change>, bool) {
    let (chunks, error) = split(bytes);
    let mut whole = error.is_none();
    let mut out = Vec::new();
    for chunk in chunks {
        if chunk.kind == DOCUMENT {
            match AutoCommit::load(chunk.bytes) {
                Ok(mut doc) => out.extend(doc.get_changes(&[])),
                Err(_) => whole = false,
            }
        } else {
            match Change::try_from(chunk.bytes) {
                Ok(change) => out.push(change),
                Err(_) => whole = false,
            }
        }
    }
    (out, whole)
}

/// The hashes of every change `bytes` holds that can be read.
pub fn change_hashes(bytes: &[u8]) -> Vec<ChangeHash> {
    readable_changes(bytes).iter().map(Change::hash).collect()
}

/// Whether `doc` has applied the change `hash`. Its metadata is a lookup;
/// `get_change_by_hash` re-encodes the whole change, many times slower.
pub fn has_change(doc: &mut AutoCommit, hash: &ChangeHash) -> bool {
    doc.get_change_meta_by_hash(hash).is_some()
}

fn note(slot: &mut Option<String>, error: String) {
    if slot.is_none() {
        *slot = Some(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable as _;
    use automerge::{ObjType, ROOT, ReadDoc as _};

    fn typed(doc: &mut AutoCommit, text: &str) -> Vec<u8> {
        let obj = match doc.get(ROOT, "t").unwrap() {
            Some((_, id)) => id,
            None => doc.put_object(ROOT, "t", ObjType::Text).unwrap(),
        };
        let len = doc.length(&obj);
        doc.splice_text(&obj, len, 0, text).unwrap();
        doc.commit();
        doc.save_incremental()
    }

    fn text(doc: &AutoCommit) -> String {
        let (_, obj) = doc.get(ROOT, "t").unwrap().unwrap();
        doc.text(&obj).unwrap()
    }

    #[test]
    fn a_lone_change_before_the_snapshot_that_holds_it_loads() {
        let mut doc = AutoCommit::new();
        let first = typed(&mut doc, "a");
        let second = typed(&mut doc, "b");
        let snapshot = doc.save();
        // The order that lost roadmaps: a change stored under a lower key
        // than the snapshot that already contains it; and others.
        for order in [
            vec![&second[..], &snapshot[..]],
            vec![&second[..], &first[..]],
            vec![&snapshot[..], &second[..], &first[..], &snapshot[..]],
        ] {
            let loaded = load(&order);
            assert!(loaded.complete());
            assert!(loaded.waiting_for.is_empty());
            assert_eq!(text(&loaded.doc), "ab");
        }
    }

    #[test]
    fn a_change_without_its_dependency_waits_and_is_kept_by_a_snapshot() {
        let mut doc = AutoCommit::new();
        let _first = typed(&mut doc, "a");
        let second = typed(&mut doc, "b");
        let mut loaded = load(&[&second]);
        assert_eq!(loaded.waiting_for.len(), 1);
        // A snapshot of it keeps the waiting change, so compacting it loses nothing.
        let kept = loaded.doc.save();
        let again = load(&[&kept]);
        assert_eq!(again.waiting_for, loaded.waiting_for);
    }

    #[test]
    fn a_damaged_chunk_spoils_only_itself() {
        let mut doc = AutoCommit::new();
        let a = typed(&mut doc, "a");
        let b = typed(&mut doc, "b");
        let c = typed(&mut doc, "c");
        let mut piece = [a.clone(), b.clone()].concat();
        let last = piece.len() - 1;
        piece[last] ^= 0xff;
        let garbage = vec![1, 2, 3];
        let loaded = load(&[&piece, &c, &garbage, &a]);
        assert!(loaded.unreadable[0].is_some(), "the damaged piece is reported");
        assert!(loaded.unreadable[1].is_none());
        assert!(loaded.unreadable[2].is_some());
        assert!(loaded.unreadable[3].is_none());
        // `a` was read (from both pieces); `b` is lost with its bytes, so `c` waits.
        assert_eq!(loaded.waiting_for.len(), 1);
        assert_eq!(text(&loaded.doc), "a");
    }

    #[test]
    fn concurrent_snapshots_merge() {
        let mut one = AutoCommit::new();
        typed(&mut one, "x");
        let mut two = one.fork();
        typed(&mut one, "1");
        typed(&mut two, "2");
        let mut loaded = load(&[&one.save(), &two.save()]);
        assert!(loaded.complete());
        assert_eq!(loaded.doc.get_heads().len(), 2);
    }

    #[test]
    fn a_snapshots_heads_are_read_without_loading_it() {
        let mut doc = AutoCommit::new();
        typed(&mut doc, "a");
        let mut other = doc.fork();
        typed(&mut doc, "b");
        typed(&mut other, "c");
        doc.merge(&mut other).unwrap();
        let mut heads = doc.get_heads();
        let snapshot = doc.save();
        let mut read = snapshot_heads(&snapshot).unwrap();
        heads.sort();
        read.sort();
        assert_eq!(read, heads);
        assert_eq!(heads.len(), 2);
        assert!(snapshot_heads(&snapshot[..40]).is_none());
    }

    #[test]
    fn salvage_adds_what_it_can_and_leaves_out_orphans() {
        let mut doc = AutoCommit::new();
        typed(&mut doc, "a");
        let mut server = doc.fork();
        let b = typed(&mut doc, "b");
        let c = typed(&mut doc, "c");
        let lost = typed(&mut doc, "d");
        let e = typed(&mut doc, "e");
        let _ = lost;
        let damaged = vec![[c.clone(), b.clone()].concat(), vec![9, 9, 9], e];
        let salvaged = super::super::salvage(&mut server, &damaged);
        assert_eq!(salvaged, super::super::Salvaged { added: 2, left_out: 1, unreadable: true });
        assert_eq!(text(&server), "abc");
        assert!(server.get_missing_deps(&[]).is_empty(), "nothing is left waiting in the document");
    }

    #[test]
    fn splitting_rejects_truncated_and_oversized_lengths() {
        let mut doc = AutoCommit::new();
        let a = typed(&mut doc, "a");
        assert!(chunk_len(&a[..a.len() - 1]).is_none());
        let mut huge = a.clone();
        huge.truncate(9);
        huge.extend([0xff; 10]);
        assert!(chunk_len(&huge).is_none());
        assert_eq!(chunk_len(&a).map(|(_, n)| n), Some(a.len()));
    }
}
