//! How many operations and changes a sync message holds, found before
//! anything is applied: Automerge's binary chunks are read only as far as
//! their column headers and run lengths. Applying is where a hostile message
//! costs: five million identical characters are a few kilobytes of
//! run-length encoded columns, and seconds of CPU and gigabytes of memory
//! once applied. Counting them costs one pass over the bytes.
//!
//! The format is Automerge's storage format
//! (<https://alexjg.github.io/automerge-storage-docs/>): a chunk is magic
//! bytes, a checksum, a type (document, change, compressed change, bundle)
//! and a length; change and document chunks hold columns, each with a
//! specification (id, type, whether deflated) and a length. Every column
//! but raw values is run-length encoded, so its number of rows is the sum of
//! its runs; the number of operations of a chunk is taken as the most rows
//! of any of its operation columns (more than Automerge would decode, never
//! fewer). Nothing here is trusted to be well formed: what does not parse is
//! an error, never a panic, and deflated data is inflated only up to a cap.

use std::io::Read as _;

/// Chunks start with these bytes.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Why a message's changes could not be counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("truncated or malformed Automerge chunk")]
    Malformed,
    #[error("Automerge chunk of an unsupported type {0}")]
    UnsupportedType(u8),
    #[error("compressed Automerge data inflates to more than {0} bytes")]
    Inflates(usize),
}

/// What some Automerge data would add to a document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Size {
    pub ops: u64,
    pub changes: u64,
}

/// What applying a change costs beyond its operations (its hash, its place
/// in the history), in operations: measured with `cargo xtask bench relay`,
/// a change of one character costs the relay about five characters typed in
/// one change. A message of a hundred thousand empty changes is not free.
pub const CHANGE_COST: u64 = 4;

impl Size {
    /// The size of one change of `ops` operations.
    pub fn change(ops: usize) -> Size {
        Size { ops: ops as u64, changes: 1 }
    }

    /// What applying it costs, in operations ([`CHANGE_COST`] for each
    /// change).
    pub fn cost(self) -> u64 {
        self.ops.saturating_add(self.changes.saturating_mul(CHANGE_COST))
    }
}

impl std::ops::Add for Size {
    type Output = Size;
    fn add(self, other: Size) -> Size {
        Size { ops: self.ops.saturating_add(other.ops), changes: self.changes.saturating_add(other.changes) }
    }
}

/// The operations and changes in `data` (the bytes of one entry of a sync
/// message's changes: one or more chunks back to back). Deflated parts are
/// inflated only while the total stays within `inflate_budget` bytes (it is
/// spent as they are: pass the same budget for every entry of a message).
pub fn count(data: &[u8], inflate_budget: &mut usize) -> Result<Size, ChunkError> {
    let mut input = Bytes(data);
    let mut size = Size::default();
    while !input.0.is_empty() {
        if input.take(4)? != MAGIC {
            return Err(ChunkError::Malformed);
        }
        input.take(4)?; // checksum
        let kind = input.byte()?;
        let len = usize::try_from(input.uleb()?).map_err(|_| ChunkError::Malformed)?;
        let body = input.take(len)?;
        let chunk = match kind {
            0 => document_size(body, inflate_budget)?,
            1 => Size { ops: change_ops(body)?, changes: 1 },
            2 => Size { ops: change_ops(&inflate(body, inflate_budget)?)?, changes: 1 },
            other => return Err(ChunkError::UnsupportedType(other)),
        };
        size = size + chunk;
    }
    Ok(size)
}

/// [`count`] for every entry of a sync message's changes, with one budget.
pub fn count_all<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
    inflate_budget: &mut usize,
) -> Result<Size, ChunkError> {
    entries.into_iter().try_fold(Size::default(), |sum, entry| Ok(sum + count(entry, inflate_budget)?))
}

/// A change chunk's body: its header fields, then its operation columns.
fn change_ops(body: &[u8]) -> Result<u64, ChunkError> {
    let mut input = Bytes(body);
    let deps = input.count()?;
    input.take(deps.checked_mul(32).ok_or(ChunkError::Malformed)?)?;
    input.prefixed()?; // actor
    input.uleb()?; // seq
    input.uleb()?; // start op
    input.sleb()?; // time
    input.prefixed()?; // message
    for _ in 0..input.count()? {
        input.prefixed()?; // other actors
    }
    let columns = input.columns()?;
    let mut most = 0;
    for (spec, len) in columns {
        let data = input.take(len)?;
        if spec & DEFLATE != 0 {
            // Automerge never deflates the columns of a change chunk.
            return Err(ChunkError::Malformed);
        }
        most = most.max(rows(spec, data)?);
    }
    Ok(most)
}

/// A document chunk's body: actors, heads, the change and operation column
/// headers, then their data (columns may be deflated one by one). Its
/// changes are counted like its operations, as the most rows of any change
/// column.
fn document_size(body: &[u8], inflate_budget: &mut usize) -> Result<Size, ChunkError> {
    let mut input = Bytes(body);
    for _ in 0..input.count()? {
        input.prefixed()?; // actors
    }
    let heads = input.count()?;
    input.take(heads.checked_mul(32).ok_or(ChunkError::Malformed)?)?;
    let change_columns = input.columns()?;
    let op_columns = input.columns()?;
    let mut most_rows = |columns: Vec<(u32, usize)>| -> Result<u64, ChunkError> {
        let mut most = 0;
        for (spec, len) in columns {
            let data = input.take(len)?;
            let rows = if spec & DEFLATE != 0 {
                rows(spec, &inflate(data, inflate_budget)?)?
            } else {
                rows(spec, data)?
            };
            most = most.max(rows);
        }
        Ok(most)
    };
    let changes = most_rows(change_columns)?;
    let ops = most_rows(op_columns)?;
    Ok(Size { ops, changes })
}

/// The column specification bit that says its data is deflated.
const DEFLATE: u32 = 0b1000;

/// The number of rows in a column's data, by its type (the low three bits
/// of its specification).
fn rows(spec: u32, data: &[u8]) -> Result<u64, ChunkError> {
    let mut input = Bytes(data);
    let mut rows: u64 = 0;
    match spec & 0b111 {
        // Raw values: their rows are counted by the value metadata column.
        7 => return Ok(0),
        // Booleans: alternating run lengths.
        4 => {
            while !input.0.is_empty() {
                rows = rows.saturating_add(input.uleb()?);
            }
        }
        // Run-length encoded: a positive count and one value, a negative
        // count and that many values, or zero and a count of nulls.
        kind => {
            while !input.0.is_empty() {
                let count = input.sleb()?;
                if count == 0 {
                    rows = rows.saturating_add(input.uleb()?);
                    continue;
                }
                let values = if count > 0 { 1 } else { count.unsigned_abs() };
                for _ in 0..values {
                    match kind {
                        // Delta integers are signed.
                        3 => drop(input.sleb()?),
                        5 => drop(input.prefixed()?),
                        _ => drop(input.uleb()?),
                    }
                }
                rows = rows.saturating_add(count.unsigned_abs());
            }
        }
    }
    Ok(rows)
}

/// `data` inflated, if it fits in what is left of `budget` (which it spends).
fn inflate(data: &[u8], budget: &mut usize) -> Result<Vec<u8>, ChunkError> {
    let mut out = Vec::new();
    let limit = *budget as u64;
    flate2::read::DeflateDecoder::new(data)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|_| ChunkError::Malformed)?;
    if out.len() as u64 > limit {
        return Err(ChunkError::Inflates(*budget));
    }
    *budget -= out.len();
    Ok(out)
}

/// A cursor over untrusted bytes.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ChunkError> {
        if n > self.0.len() {
            return Err(ChunkError::Malformed);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, ChunkError> {
        Ok(self.take(1)?[0])
    }

    fn uleb(&mut self) -> Result<u64, ChunkError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).ok_or(ChunkError::Malformed)?;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ChunkError::Malformed)
    }

    fn sleb(&mut self) -> Result<i64, ChunkError> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift >= 64 {
                return Err(ChunkError::Malformed);
            }
            value |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }

    /// A count of things that follow, each at least a byte.
    fn count(&mut self) -> Result<usize, ChunkError> {
        let n = usize::try_from(self.uleb()?).map_err(|_| ChunkError::Malformed)?;
        if n > self.0.len() { Err(ChunkError::Malformed) } else { Ok(n) }
    }

    /// Length-prefixed bytes.
    fn prefixed(&mut self) -> Result<&'a [u8], ChunkError> {
        let n = usize::try_from(self.uleb()?).map_err(|_| ChunkError::Malformed)?;
        self.take(n)
    }

    /// Column headers: `(specification, data length)` for each.
    fn columns(&mut self) -> Result<Vec<(u32, usize)>, ChunkError> {
        let n = self.count()?;
        let mut columns = Vec::with_capacity(n);
        for _ in 0..n {
            let spec = u32::try_from(self.uleb()?).map_err(|_| ChunkError::Malformed)?;
            let len = usize::try_from(self.uleb()?).map_err(|_| ChunkError::Malformed)?;
            columns.push((spec, len));
        }
        Ok(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable as _;
    use automerge::{AutoCommit, ObjType, ROOT};

    fn budget() -> usize {
        64 << 20
    }

    fn count_ops(data: &[u8], budget: &mut usize) -> Result<u64, ChunkError> {
        count(data, budget).map(|size| size.ops)
    }

    #[test]
    fn counts_what_automerge_writes_however_it_packs_it() {
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "t", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, &"a".repeat(100_000)).unwrap();
        doc.put(ROOT, "n", 1).unwrap();
        doc.commit();
        let change = doc.get_last_local_change().unwrap().clone();
        assert_eq!(change.len(), 100_002);
        // As sent in a sync message, as stored (deflated), as a document.
        assert_eq!(count_ops(change.raw_bytes(), &mut budget()), Ok(100_002));
        let mut stored = change.clone();
        let compressed = stored.bytes().into_owned();
        assert_eq!(compressed[8], 2, "a compressed change chunk");
        assert_eq!(count_ops(&compressed, &mut budget()), Ok(100_002));
        let saved = doc.save();
        assert!(saved.len() < 2_000, "{} bytes", saved.len());
        assert_eq!(count_ops(&saved, &mut budget()), Ok(100_002));
        // Two chunks back to back.
        let both = [change.raw_bytes(), &saved].concat();
        assert_eq!(count_ops(&both, &mut budget()), Ok(200_004));
    }

    /// Changes are counted too, however they come: one chunk each, or the
    /// rows of a document's change columns.
    #[test]
    fn counts_changes_as_well() {
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "t", ObjType::Text).unwrap();
        doc.commit();
        for i in 0..1_000 {
            doc.splice_text(&text, i, 0, "я").unwrap();
            doc.commit();
        }
        let changes = doc.get_changes(&[]);
        let raw: Vec<&[u8]> = changes.iter().map(|c| c.raw_bytes()).collect();
        assert_eq!(count_all(raw, &mut budget()), Ok(Size { ops: 1_001, changes: 1_001 }));
        let saved = doc.save();
        assert_eq!(count(&saved, &mut budget()), Ok(Size { ops: 1_001, changes: 1_001 }));
        assert_eq!(Size { ops: 1_001, changes: 1_001 }.cost(), 1_001 + 4 * 1_001);
        // Changes with no operations at all still count.
        let mut empty = AutoCommit::new();
        for _ in 0..100 {
            empty.empty_change(automerge::transaction::CommitOptions::default().with_message("nothing"));
        }
        let saved = empty.save();
        let size = count(&saved, &mut budget()).unwrap();
        assert_eq!(size, Size { ops: 0, changes: 100 });
    }

    #[test]
    fn bad_bytes_are_an_error_never_a_panic() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "k", "v").unwrap();
        doc.commit();
        let saved = doc.save();
        for cut in 0..saved.len() {
            let _ = count_ops(&saved[..cut], &mut budget());
        }
        assert_eq!(count_ops(b"not automerge", &mut budget()), Err(ChunkError::Malformed));
        let mut bundle = saved.clone();
        bundle[8] = 3;
        assert_eq!(count_ops(&bundle, &mut budget()), Err(ChunkError::UnsupportedType(3)));
    }

    #[test]
    fn deflated_data_is_inflated_only_up_to_the_budget() {
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "t", ObjType::Text).unwrap();
        let varied: String = (0..50_000u32).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
        doc.splice_text(&text, 0, 0, &varied).unwrap();
        doc.commit();
        let compressed = doc.get_last_local_change().unwrap().clone().bytes().into_owned();
        assert_eq!(compressed[8], 2);
        assert_eq!(count_ops(&compressed, &mut 1_000), Err(ChunkError::Inflates(1_000)));
    }
}
