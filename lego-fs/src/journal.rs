//! The metadata journal: a region of blocks written front to back with the records of committed
//! transactions, reset (by bumping the generation) at every checkpoint.
//!
//! ```text
//! log block: 0 magic "LGJL" | 8 generation u64 | 16 position u64 | 24 transaction's first
//!            position u64 | 32 transaction's block count u32 | 36 payload bytes u32
//!            40 CRC-32 of the whole block | 48.. payload (records, split across blocks)
//! ```
//!
//! A transaction is all records since the previous commit. Its blocks are written together with
//! the data blocks it references, and one flush makes all of them durable (one flush per fsync,
//! where ordering data before the journal would take two). It is complete when every one of its
//! blocks is valid (magic, checksum, generation, position, and the same first position and
//! count). Recovery applies complete transactions from position 0 and stops at the first
//! incomplete one: that can only be the one in flight at the crash. The *last* complete one may
//! also have been in flight with some of its data not written: recovery checks the checksums
//! its records carry against the data blocks (`last_ok`) and drops it if any differs.
//!
//! That check cannot tell a torn transaction from a committed one whose data was damaged
//! later. So once a commit's flush returns, a *confirm block* naming the transaction is written
//! at the next position, and the fsync is acknowledged without waiting for it: the device gets
//! it with the next batch of writes, or on its own (`Fs::submit_hints`) once the server has been
//! left alone for a moment (the storage monitor waits 1 ms). A transaction followed by its
//! confirm, or by another transaction, is known committed and applied as it is (damaged data is
//! then reported when read). The check decides only when the confirm block is missing: after a
//! crash of the component between the flush and the hand-off (about a millisecond after the
//! acknowledgement at most), or after a power loss of the host before the next flush (the
//! confirm is not flushed). If in either case the transaction's data was *also* damaged
//! afterwards, the acknowledged transaction is dropped as if torn: a double fault this format
//! does not tell apart, like damage that wipes out the newest commit entirely.
//!
//! ```text
//! confirm block: 0 magic "LGJC" | 8 generation u64 | 16 position u64 | 24 the transaction's
//!                first position u64 | 40 CRC-32 of the whole block
//! ```
//!
//! Within a generation the log is written strictly in order and each transaction only after the
//! previous one was flushed; mount rewrites a checkpoint (new generation) whenever it found any
//! block of the current one, so no stale block of the current generation survives a recovery.
//! Hence a valid block *past* the stopping point that belongs to a later transaction (first
//! position greater than the stop) proves the transaction at the stop had been committed and was
//! damaged afterwards: that is reported as corruption instead of silently dropping committed
//! work. (Damage to the *last* committed transaction looks exactly like a torn commit and is
//! treated as one.) A valid block of a newer generation than the chosen checkpoint likewise
//! proves that checkpoint's headers were damaged.

use alloc::vec::Vec;

use crate::codec::{get_u32, get_u64, set_u32, set_u64};
use crate::device::{BLOCK_SIZE, Block, BlockDevice, block_crc};
use crate::error::{Corruption, FsError, Result};
use crate::mem::{Budget, MAX_OP_RECORDS};
use crate::superblock::Superblock;

const MAGIC: u32 = u32::from_le_bytes(*b"LGJL");
const CONFIRM_MAGIC: u32 = u32::from_le_bytes(*b"LGJC");
const CRC_AT: usize = 40;
const HEADER: usize = 48;
/// Record bytes carried by one journal block.
pub(crate) const PAYLOAD_PER_BLOCK: usize = BLOCK_SIZE - HEADER;

/// The journal's in-memory state.
#[derive(Debug)]
pub(crate) struct Journal {
    /// Generation of the current checkpoint; journal blocks of other generations are ignored.
    pub generation: u64,
    /// Slot holding the current checkpoint.
    pub slot: usize,
    /// Next journal position to write.
    pub head: u64,
    /// Encoded records not yet committed.
    pub pending: Vec<u8>,
}

impl Journal {
    /// The journal of generation `generation` (checkpoint in `slot`), to be written from
    /// position `head`, with its pending buffer allocated once for the budget's pending
    /// records and one operation past them.
    pub fn new(generation: u64, slot: usize, head: u64, budget: &Budget) -> Journal {
        Journal {
            generation,
            slot,
            head,
            pending: Vec::with_capacity((budget.pending + MAX_OP_RECORDS) as usize),
        }
    }
}

/// Journal blocks needed for `len` bytes of records.
pub(crate) fn blocks_for(len: usize) -> u64 {
    len.div_ceil(PAYLOAD_PER_BLOCK).max(1) as u64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LogBlock {
    generation: u64,
    pos: u64,
    tx_start: u64,
    tx_blocks: u64,
    len: usize,
}

impl LogBlock {
    fn parse(b: &Block) -> Option<LogBlock> {
        let len = get_u32(b, 36) as usize;
        if get_u32(b, 0) != MAGIC
            || get_u32(b, CRC_AT) != block_crc(b, CRC_AT)
            || len > PAYLOAD_PER_BLOCK
        {
            return None;
        }
        Some(LogBlock {
            generation: get_u64(b, 8),
            pos: get_u64(b, 16),
            tx_start: get_u64(b, 24),
            tx_blocks: u64::from(get_u32(b, 32)),
            len,
        })
    }
}

/// Writes `payload` as one transaction at position `head`; returns the blocks used. The caller
/// has checked that they fit and flushes afterwards.
pub(crate) fn write_tx<D: BlockDevice>(
    dev: &mut D,
    sb: &Superblock,
    generation: u64,
    head: u64,
    payload: &[u8],
    buf: &mut Block,
) -> Result<u64> {
    let n = blocks_for(payload.len());
    let mut chunks = payload.chunks(PAYLOAD_PER_BLOCK);
    for i in 0..n {
        let chunk = chunks.next().unwrap_or(&[]);
        buf.fill(0);
        set_u32(buf, 0, MAGIC);
        set_u64(buf, 8, generation);
        set_u64(buf, 16, head + i);
        set_u64(buf, 24, head);
        set_u32(buf, 32, n as u32);
        set_u32(buf, 36, chunk.len() as u32);
        buf[HEADER..HEADER + chunk.len()].copy_from_slice(chunk);
        let crc = block_crc(buf, CRC_AT);
        set_u32(buf, CRC_AT, crc);
        dev.write(sb.log_start() + head + i, buf)?;
    }
    Ok(n)
}

/// Writes the confirm block of the transaction that starts at `tx_start` at position `pos`
/// (the caller hands it to the device).
pub(crate) fn write_confirm<D: BlockDevice>(
    dev: &mut D,
    sb: &Superblock,
    generation: u64,
    pos: u64,
    tx_start: u64,
    buf: &mut Block,
) -> Result<()> {
    buf.fill(0);
    set_u32(buf, 0, CONFIRM_MAGIC);
    set_u64(buf, 8, generation);
    set_u64(buf, 16, pos);
    set_u64(buf, 24, tx_start);
    let crc = block_crc(buf, CRC_AT);
    set_u32(buf, CRC_AT, crc);
    dev.write(sb.log_start() + pos, buf)?;
    Ok(())
}

/// Whether `b` is the confirm block, at position `pos`, of the transaction starting at
/// `tx_start`.
fn confirms(b: &Block, generation: u64, pos: u64, tx_start: u64) -> bool {
    get_u32(b, 0) == CONFIRM_MAGIC
        && get_u32(b, CRC_AT) == block_crc(b, CRC_AT)
        && get_u64(b, 8) == generation
        && get_u64(b, 16) == pos
        && get_u64(b, 24) == tx_start
}

/// What recovery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Replayed {
    /// Position after the last complete transaction.
    pub head: u64,
    /// Whether any block of the current generation exists (then a new generation must start).
    pub dirty: bool,
}

/// Reads the complete transaction at position `start` of generation `generation`, handing its
/// payload to `sink` a block at a time (with the device, for a sink that reads data blocks); returns its length in blocks, or `None` if it is not
/// complete (a block missing, damaged or of another transaction).
pub(crate) fn read_tx<D: BlockDevice>(
    dev: &mut D,
    sb: &Superblock,
    generation: u64,
    start: u64,
    buf: &mut Block,
    sink: &mut dyn FnMut(&mut D, &[u8]) -> Result<()>,
) -> Result<Option<u64>> {
    let len = sb.log_blocks;
    dev.read(sb.log_start() + start, buf)?;
    let Some(first) = LogBlock::parse(buf) else {
        return Ok(None);
    };
    if first.generation != generation
        || first.pos != start
        || first.tx_start != start
        || first.tx_blocks == 0
        || first.tx_blocks > len - start
    {
        return Ok(None);
    }
    sink(dev, &buf[HEADER..HEADER + first.len])?;
    for i in 1..first.tx_blocks {
        dev.read(sb.log_start() + start + i, buf)?;
        let Some(b) = LogBlock::parse(buf).filter(|b| {
            b.generation == generation
                && b.pos == start + i
                && b.tx_start == start
                && b.tx_blocks == first.tx_blocks
        }) else {
            return Ok(None);
        };
        sink(dev, &buf[HEADER..HEADER + b.len])?;
    }
    Ok(Some(first.tx_blocks))
}

/// Applies every complete transaction of generation `generation` in order: `apply(dev, start,
/// buf)` reads and applies the one at `start` (with [`read_tx`]), and the last one only if
/// `last_ok(dev, start, buf)` says its data made it to the device (else it is dropped as torn,
/// and the journal's head is where it started). The journal is read through once to find the
/// transactions, then each is read again as it is applied: nothing is held in memory.
pub(crate) fn replay<D: BlockDevice>(
    dev: &mut D,
    sb: &Superblock,
    generation: u64,
    buf: &mut Block,
    mut apply: impl FnMut(&mut D, u64, &mut Block) -> Result<()>,
    mut last_ok: impl FnMut(&mut D, u64, &mut Block) -> Result<bool>,
) -> Result<Replayed> {
    let len = sb.log_blocks;
    let mut pos = 0;
    // Where the last complete transaction starts.
    let mut last: Option<u64> = None;
    while pos < len {
        match read_tx(dev, sb, generation, pos, buf, &mut |_, _| Ok(()))? {
            Some(n) => {
                last = Some(pos);
                pos += n;
            }
            None => break,
        }
    }
    let stop = pos;
    let mut head = stop;
    if let Some(last) = last {
        let mut at = 0;
        while at < last {
            apply(dev, at, buf)?;
            // Read again: it was complete a moment ago.
            at += read_tx(dev, sb, generation, at, buf, &mut |_, _| Ok(()))?
                .ok_or(FsError::Corrupted(Corruption::Journal))?;
        }
        let confirmed = stop < len && {
            dev.read(sb.log_start() + stop, buf)?;
            confirms(buf, generation, stop, last)
        };
        if confirmed || last_ok(dev, last, buf)? {
            apply(dev, last, buf)?;
        } else {
            head = last;
        }
    }
    let mut dirty = stop > 0;
    for j in stop..len {
        dev.read(sb.log_start() + j, buf)?;
        let Some(b) = LogBlock::parse(buf) else {
            continue;
        };
        if b.generation > generation
            || (b.generation == generation && b.pos == j && b.tx_start > stop)
        {
            return Err(FsError::Corrupted(Corruption::Journal));
        }
        dirty |= b.generation == generation;
    }
    Ok(Replayed { head, dirty })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::zeroed_block;
    use crate::superblock::FormatOptions;
    use crate::testdev::MemDisk;
    use alloc::vec;

    fn setup() -> (MemDisk, Superblock) {
        let opts = FormatOptions {
            checkpoint_blocks: Some(4),
            log_blocks: Some(16),
            ..FormatOptions::default()
        };
        (MemDisk::new(64), Superblock::new(64, &opts).unwrap())
    }

    fn collect(
        d: &mut MemDisk,
        sb: &Superblock,
        generation: u64,
    ) -> Result<(Vec<Vec<u8>>, Replayed)> {
        let mut out = Vec::new();
        let mut buf = zeroed_block();
        let r = replay(
            d,
            sb,
            generation,
            &mut buf,
            |d, start, buf| {
                let mut tx = Vec::new();
                read_tx(d, sb, generation, start, buf, &mut |_, b| {
                    tx.extend_from_slice(b);
                    Ok(())
                })?
                .ok_or(FsError::Corrupted(Corruption::Journal))?;
                out.push(tx);
                Ok(())
            },
            |_, _, _| Ok(true),
        )?;
        Ok((out, r))
    }

    /// Writes transactions of the given sizes; returns their payloads.
    fn write_all(
        d: &mut MemDisk,
        sb: &Superblock,
        generation: u64,
        sizes: &[usize],
    ) -> Vec<Vec<u8>> {
        let mut buf = zeroed_block();
        let mut head = 0;
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let p: Vec<u8> = (0..n).map(|k| (k * 7 + i) as u8).collect();
                head += write_tx(d, sb, generation, head, &p, &mut buf).unwrap();
                p
            })
            .collect()
    }

    #[test]
    fn replays_multi_block_transactions_in_order() {
        let (mut d, sb) = setup();
        let txs = write_all(&mut d, &sb, 3, &[10, PAYLOAD_PER_BLOCK * 2 + 1, 0, 4048]);
        let (got, r) = collect(&mut d, &sb, 3).unwrap();
        assert_eq!(got, txs);
        assert_eq!(
            r,
            Replayed {
                head: 6,
                dirty: true
            }
        );
        // An older generation's blocks are ignored; a newer generation's prove damage.
        let (got, r) = collect(&mut d, &sb, 4).unwrap();
        assert!(got.is_empty());
        assert_eq!(
            r,
            Replayed {
                head: 0,
                dirty: false
            }
        );
        assert_eq!(
            collect(&mut d, &sb, 2).unwrap_err(),
            FsError::Corrupted(Corruption::Journal)
        );
        let (got, r) = collect(&mut MemDisk::new(64), &sb, 1).unwrap();
        assert!(got.is_empty());
        assert_eq!(
            r,
            Replayed {
                head: 0,
                dirty: false
            }
        );
    }

    #[test]
    fn torn_last_transaction_is_dropped() {
        let (mut d, sb) = setup();
        let txs = write_all(&mut d, &sb, 1, &[10, PAYLOAD_PER_BLOCK * 3]);
        // Tear the middle block of the last (three-block) transaction.
        let at = (sb.log_start() as usize + 2) * BLOCK_SIZE + 100;
        d.bytes_mut()[at] ^= 1;
        let (got, r) = collect(&mut d, &sb, 1).unwrap();
        assert_eq!(got, vec![txs[0].clone()]);
        assert_eq!(r.head, 1);
        assert!(r.dirty);
    }

    #[test]
    fn damaged_earlier_transaction_is_corruption() {
        let (mut d, sb) = setup();
        write_all(&mut d, &sb, 1, &[10, 20, 30]);
        let at = (sb.log_start() as usize + 1) * BLOCK_SIZE + 60;
        d.bytes_mut()[at] ^= 1;
        assert_eq!(
            collect(&mut d, &sb, 1).unwrap_err(),
            FsError::Corrupted(Corruption::Journal)
        );
    }
}
