//! Checkpoint slots: two regions, each holding a full snapshot of the metadata (the records that
//! rebuild it, see [`record`](crate::record)) behind two copies of a header block.
//!
//! ```text
//! slot block 0, 1: header copies    slot blocks 2..: payload bytes (no per-block framing)
//! header: 0 magic "LGCKPT01" | 8 generation u64 | 16 payload length u64 | 24 payload CRC-32
//!         32 next inode number u64 | 40 version counter u64 | 48 CRC-32 of the whole block
//! ```
//!
//! A checkpoint of generation `g + 1` goes to the slot *not* holding generation `g`: payload,
//! flush, header copy 0, flush, header copy 1, flush. A crash at any point leaves generation `g`
//! intact (its slot is untouched, its journal too); once a copy of the new header is durable the
//! payload it covers is as well. The second copy lets a single damaged header block be survived
//! instead of silently falling back to the older generation; a slot whose two copies are both
//! damaged (neither valid nor blank, which no crash leaves) is refused. Mount uses the valid
//! header with the highest generation and refuses (rather than falls back) if that payload is
//! damaged.

use alloc::vec::Vec;

use crate::codec::{get_u32, get_u64, set_u32, set_u64};
use crate::device::{BLOCK_SIZE, Block, BlockDevice, block_crc};
use crate::error::{BAD_META, Corruption, FsError, Result};
use crate::superblock::{CKPT_HEADERS, Superblock};

const MAGIC: u64 = u64::from_le_bytes(*b"LGCKPT01");
const CRC_AT: usize = 48;

/// A checkpoint header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub generation: u64,
    pub len: u64,
    pub crc: u32,
    pub next_ino: u64,
    pub version: u64,
}

impl Header {
    fn encode(&self, b: &mut Block) {
        b.fill(0);
        set_u64(b, 0, MAGIC);
        set_u64(b, 8, self.generation);
        set_u64(b, 16, self.len);
        set_u32(b, 24, self.crc);
        set_u64(b, 32, self.next_ino);
        set_u64(b, 40, self.version);
        let crc = block_crc(b, CRC_AT);
        set_u32(b, CRC_AT, crc);
    }

    fn decode(b: &Block) -> Option<Header> {
        if get_u64(b, 0) != MAGIC || get_u32(b, CRC_AT) != block_crc(b, CRC_AT) {
            return None;
        }
        Some(Header {
            generation: get_u64(b, 8),
            len: get_u64(b, 16),
            crc: get_u32(b, 24),
            next_ino: get_u64(b, 32),
            version: get_u64(b, 40),
        })
    }
}

/// Writes a checkpoint of generation `generation` into `slot` (see the module docs for the
/// order): `fill` hands the payload's bytes, exactly `len` of them, to the sink it is given,
/// which writes them a block at a time.
#[allow(clippy::too_many_arguments)]
pub(crate) fn store<D: BlockDevice>(
    dev: &mut D,
    sb: &Superblock,
    slot: usize,
    generation: u64,
    next_ino: u64,
    version: u64,
    len: u64,
    buf: &mut Block,
    fill: impl FnOnce(&mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()>,
) -> Result<()> {
    if len > sb.ckpt_capacity() {
        return Err(FsError::NoSpace);
    }
    let start = sb.ckpt_start(slot) + CKPT_HEADERS;
    let mut crc = crc32fast::Hasher::new();
    let (mut written, mut used, mut block) = (0u64, 0usize, start);
    fill(&mut |mut bytes: &[u8]| {
        written += bytes.len() as u64;
        if written > len {
            return Err(BAD_META);
        }
        crc.update(bytes);
        while !bytes.is_empty() {
            let n = bytes.len().min(BLOCK_SIZE - used);
            buf[used..used + n].copy_from_slice(&bytes[..n]);
            used += n;
            bytes = &bytes[n..];
            if used == BLOCK_SIZE {
                dev.write(block, buf)?;
                block += 1;
                used = 0;
            }
        }
        Ok(())
    })?;
    if written != len {
        return Err(BAD_META);
    }
    if used > 0 {
        buf[used..].fill(0);
        dev.write(block, buf)?;
    }
    // The payload (and every data block written before it) must be durable before a header
    // makes it the newest checkpoint.
    dev.flush()?;
    let h = Header {
        generation,
        len,
        crc: crc.finalize(),
        next_ino,
        version,
    };
    for copy in 0..CKPT_HEADERS {
        h.encode(buf);
        dev.write(start - CKPT_HEADERS + copy, buf)?;
        dev.flush()?;
    }
    Ok(())
}

/// The checkpoint mount starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loaded {
    pub header: Header,
    pub slot: usize,
}

/// Payload blocks read per device request.
const BATCH: usize = 16;

/// Hands the payload of checkpoint `ck` to `sink`, a block at a time.
pub(crate) fn read_payload<D: BlockDevice>(
    dev: &mut D,
    sb: &Superblock,
    ck: &Loaded,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let len = ck.header.len as usize;
    let start = sb.ckpt_start(ck.slot) + CKPT_HEADERS;
    let mut batch: Vec<Block> =
        alloc::vec![[0u8; BLOCK_SIZE]; BATCH.min(len.div_ceil(BLOCK_SIZE)).max(1)];
    let mut done = 0usize;
    let mut block = start;
    while done < len {
        let n = (len - done).div_ceil(BLOCK_SIZE).min(batch.len());
        dev.read_many(block, &mut batch[..n])?;
        for b in &batch[..n] {
            let take = (len - done).min(BLOCK_SIZE);
            sink(&b[..take])?;
            done += take;
        }
        block += n as u64;
    }
    Ok(())
}

/// Finds the newest valid checkpoint and checks its payload against its checksum (reading it
/// through once; [`read_payload`] reads it again to apply it).
pub(crate) fn load<D: BlockDevice>(
    dev: &mut D,
    sb: &Superblock,
    buf: &mut Block,
) -> Result<Loaded> {
    let bad = FsError::Corrupted(Corruption::Checkpoint);
    let mut best: Option<(Header, usize)> = None;
    for slot in 0..2 {
        // Copy 1 is written only once copy 0 is durable, and format zeroes both: whatever a
        // crash leaves, one copy of a slot is valid or blank. Two damaged copies are damage,
        // and the slot may have held the newest generation: refuse rather than fall back.
        let mut intact = false;
        for copy in 0..CKPT_HEADERS {
            dev.read(sb.ckpt_start(slot) + copy, buf)?;
            match Header::decode(buf) {
                Some(h) => {
                    intact = true;
                    if best.is_none_or(|(b, _)| h.generation > b.generation) {
                        best = Some((h, slot));
                    }
                }
                None => intact |= buf.iter().all(|&b| b == 0),
            }
        }
        if !intact {
            return Err(bad);
        }
    }
    let (header, slot) = best.ok_or(FsError::Corrupted(Corruption::NoCheckpoint))?;
    if header.len > sb.ckpt_capacity() {
        return Err(bad);
    }
    let ck = Loaded { header, slot };
    let mut crc = crc32fast::Hasher::new();
    read_payload(dev, sb, &ck, &mut |b| {
        crc.update(b);
        Ok(())
    })?;
    if crc.finalize() != header.crc {
        return Err(bad);
    }
    Ok(ck)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::zeroed_block;
    use crate::superblock::FormatOptions;
    use crate::testdev::MemDisk;

    #[allow(clippy::too_many_arguments)]
    fn store_bytes(
        d: &mut MemDisk,
        sb: &Superblock,
        slot: usize,
        generation: u64,
        next_ino: u64,
        version: u64,
        payload: &[u8],
        buf: &mut Block,
    ) -> Result<()> {
        store(
            d,
            sb,
            slot,
            generation,
            next_ino,
            version,
            payload.len() as u64,
            buf,
            |out| {
                // In odd pieces, as records come.
                payload.chunks(777).try_for_each(out)
            },
        )
    }

    fn payload(d: &mut MemDisk, sb: &Superblock, ck: &Loaded) -> Vec<u8> {
        let mut v = Vec::new();
        read_payload(d, sb, ck, &mut |b| {
            v.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        v
    }

    fn setup() -> (MemDisk, Superblock) {
        let opts = FormatOptions {
            checkpoint_blocks: Some(6),
            log_blocks: Some(4),
            ..FormatOptions::default()
        };
        (MemDisk::new(64), Superblock::new(64, &opts).unwrap())
    }

    #[test]
    fn newest_generation_wins_and_round_trips() {
        let (mut d, sb) = setup();
        let mut buf = zeroed_block();
        let p1 = alloc::vec![1u8; 5000];
        let p2 = alloc::vec![2u8; 100];
        store_bytes(&mut d, &sb, 0, 1, 5, 6, &p1, &mut buf).unwrap();
        store_bytes(&mut d, &sb, 1, 2, 7, 8, &p2, &mut buf).unwrap();
        let l = load(&mut d, &sb, &mut buf).unwrap();
        assert_eq!((l.slot, l.header.generation, l.header.next_ino), (1, 2, 7));
        assert_eq!(payload(&mut d, &sb, &l), p2);
    }

    #[test]
    fn damaged_header_copy_is_survived_damaged_payload_is_not() {
        let (mut d, sb) = setup();
        let mut buf = zeroed_block();
        store_bytes(&mut d, &sb, 0, 1, 1, 0, &[9; 10], &mut buf).unwrap();
        store_bytes(&mut d, &sb, 1, 2, 1, 0, &[8; 10], &mut buf).unwrap();
        let hdr0 = sb.ckpt_start(1) as usize * BLOCK_SIZE;
        let mut one = d.clone();
        one.bytes_mut()[hdr0 + 9] ^= 1;
        assert_eq!(load(&mut one, &sb, &mut buf).unwrap().header.generation, 2);
        let mut payload = d.clone();
        payload.bytes_mut()[hdr0 + 2 * BLOCK_SIZE + 3] ^= 1;
        assert_eq!(
            load(&mut payload, &sb, &mut buf).unwrap_err(),
            FsError::Corrupted(Corruption::Checkpoint)
        );
        let mut none = MemDisk::new(64);
        assert_eq!(
            load(&mut none, &sb, &mut buf).unwrap_err(),
            FsError::Corrupted(Corruption::NoCheckpoint)
        );
    }

    #[test]
    fn both_header_copies_damaged_is_refused_not_a_fall_back() {
        let (mut d, sb) = setup();
        let mut buf = zeroed_block();
        store_bytes(&mut d, &sb, 0, 1, 1, 0, &[9; 10], &mut buf).unwrap();
        store_bytes(&mut d, &sb, 1, 2, 1, 0, &[8; 10], &mut buf).unwrap();
        // The newest slot's copies both damaged: generation 1 in slot 0 is valid, but loading
        // it would silently drop generation 2.
        let hdr = sb.ckpt_start(1) as usize * BLOCK_SIZE;
        let mut both = d.clone();
        both.bytes_mut()[hdr] ^= 1;
        both.bytes_mut()[hdr + BLOCK_SIZE] ^= 1;
        assert_eq!(
            load(&mut both, &sb, &mut buf).unwrap_err(),
            FsError::Corrupted(Corruption::Checkpoint)
        );
        // A crash tearing copy 0 of a slot's first header (copy 1 still blank) is no damage.
        let mut torn = MemDisk::new(64);
        store_bytes(&mut torn, &sb, 0, 1, 1, 0, &[9; 10], &mut buf).unwrap();
        torn.bytes_mut()[sb.ckpt_start(1) as usize * BLOCK_SIZE + 40] = 0x5a;
        assert_eq!(load(&mut torn, &sb, &mut buf).unwrap().header.generation, 1);
    }

    #[test]
    fn oversized_payload_is_no_space() {
        let (mut d, sb) = setup();
        let mut buf = zeroed_block();
        let big = alloc::vec![0u8; 4 * BLOCK_SIZE + 1];
        assert_eq!(
            store_bytes(&mut d, &sb, 0, 1, 1, 0, &big, &mut buf),
            Err(FsError::NoSpace)
        );
    }
}
