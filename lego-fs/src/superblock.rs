//! The superblock (block 0): the static geometry, written once by `format` and never again, so a
//! crash can never tear it. Everything that changes lives in the checkpoint slots and the journal.
//!
//! ```text
//! off  size  field
//!   0     8  magic "LEGOFS\0\x01"
//!   8     4  format version (1)
//!  12     4  block size (4096)
//!  16     8  total blocks used by the filesystem
//!  24     8  blocks per checkpoint slot
//!  32     8  journal blocks
//!  40     8  maximum file size in bytes
//!  48     4  CRC-32 of the whole block with this field zeroed
//! ```

use core::ops::Range;

use crate::codec::{get_u32, get_u64, set_u32, set_u64};
use crate::device::{BLOCK_SIZE, Block, BlockDevice, block_crc, zeroed_block};
use crate::error::{Corruption, FsError, Result};

const MAGIC: [u8; 8] = *b"LEGOFS\0\x01";
const VERSION: u32 = 1;
const CRC_AT: usize = 48;
/// Header blocks at the start of each checkpoint slot (two copies, see `checkpoint`).
pub(crate) const CKPT_HEADERS: u64 = 2;
/// Largest supported maximum file size: keeps every block-number computation far from overflow.
pub const MAX_FILE_SIZE_LIMIT: u64 = 1 << 52;

/// Parameters chosen at format time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatOptions {
    /// Writes or truncates past this size fail with [`FsError::FileTooLarge`].
    pub max_file_size: u64,
    /// Blocks per checkpoint slot (two slots); `None` picks 1/64 of the device. The slot bounds
    /// the total metadata: names plus 4 bytes per data block plus ~29 bytes per extent.
    pub checkpoint_blocks: Option<u64>,
    /// Journal blocks; `None` picks 1/128 of the device. A fuller journal triggers a checkpoint.
    pub log_blocks: Option<u64>,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            max_file_size: 1 << 40,
            checkpoint_blocks: None,
            log_blocks: None,
        }
    }
}

/// Where each on-disk region lives (block numbers), for tools and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Blocks the filesystem occupies (block 0 is the superblock).
    pub total_blocks: u64,
    /// The two checkpoint slots.
    pub checkpoint: [Range<u64>; 2],
    /// The journal.
    pub log: Range<u64>,
    /// Data blocks.
    pub data: Range<u64>,
}

/// The decoded superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Superblock {
    pub total_blocks: u64,
    pub ckpt_blocks: u64,
    pub log_blocks: u64,
    pub max_file_size: u64,
}

impl Superblock {
    /// Lays out a device of `dev_blocks` blocks.
    pub fn new(dev_blocks: u64, opts: &FormatOptions) -> Result<Self> {
        let ckpt_blocks = opts
            .checkpoint_blocks
            .unwrap_or((dev_blocks / 64).clamp(4, 1 << 16));
        let log_blocks = opts
            .log_blocks
            .unwrap_or((dev_blocks / 128).clamp(8, 1 << 14));
        let sb = Superblock {
            total_blocks: dev_blocks,
            ckpt_blocks,
            log_blocks,
            max_file_size: opts.max_file_size,
        };
        if sb.geometry_ok(dev_blocks) {
            Ok(sb)
        } else {
            Err(FsError::InvalidGeometry)
        }
    }

    /// Whether the regions fit the device, in order, with room for at least one data block.
    fn geometry_ok(&self, dev_blocks: u64) -> bool {
        let data_start = self
            .ckpt_blocks
            .checked_mul(2)
            .and_then(|c| c.checked_add(1))
            .and_then(|c| c.checked_add(self.log_blocks));
        self.ckpt_blocks > CKPT_HEADERS
            && self.ckpt_blocks <= 1 << 40
            && self.log_blocks >= 2
            && self.log_blocks <= 1 << 40
            && self.total_blocks <= dev_blocks
            && data_start.is_some_and(|d| d < self.total_blocks)
            && self.max_file_size > 0
            && self.max_file_size <= MAX_FILE_SIZE_LIMIT
    }

    pub fn ckpt_start(&self, slot: usize) -> u64 {
        1 + slot as u64 * self.ckpt_blocks
    }

    pub fn log_start(&self) -> u64 {
        1 + 2 * self.ckpt_blocks
    }

    pub fn data_start(&self) -> u64 {
        self.log_start() + self.log_blocks
    }

    /// Bytes of checkpoint payload a slot can hold: the bound on total metadata.
    pub fn ckpt_capacity(&self) -> u64 {
        (self.ckpt_blocks - CKPT_HEADERS) * BLOCK_SIZE as u64
    }

    pub fn layout(&self) -> Layout {
        Layout {
            total_blocks: self.total_blocks,
            checkpoint: [
                self.ckpt_start(0)..self.ckpt_start(1),
                self.ckpt_start(1)..self.log_start(),
            ],
            log: self.log_start()..self.data_start(),
            data: self.data_start()..self.total_blocks,
        }
    }

    pub fn write<D: BlockDevice>(&self, dev: &mut D) -> Result<()> {
        let mut b = zeroed_block();
        b[..8].copy_from_slice(&MAGIC);
        set_u32(&mut b[..], 8, VERSION);
        set_u32(&mut b[..], 12, BLOCK_SIZE as u32);
        set_u64(&mut b[..], 16, self.total_blocks);
        set_u64(&mut b[..], 24, self.ckpt_blocks);
        set_u64(&mut b[..], 32, self.log_blocks);
        set_u64(&mut b[..], 40, self.max_file_size);
        let crc = block_crc(&b, CRC_AT);
        set_u32(&mut b[..], CRC_AT, crc);
        dev.write(0, &b)?;
        Ok(())
    }

    pub fn read<D: BlockDevice>(dev: &mut D) -> Result<Self> {
        let mut b = zeroed_block();
        dev.read(0, &mut b)?;
        Self::decode(&b, dev.block_count())
    }

    fn decode(b: &Block, dev_blocks: u64) -> Result<Self> {
        if b[..8] != MAGIC {
            return Err(FsError::Corrupted(Corruption::BadMagic));
        }
        let bad = FsError::Corrupted(Corruption::Superblock);
        if get_u32(b, CRC_AT) != block_crc(b, CRC_AT)
            || get_u32(b, 8) != VERSION
            || get_u32(b, 12) != BLOCK_SIZE as u32
        {
            return Err(bad);
        }
        let sb = Superblock {
            total_blocks: get_u64(b, 16),
            ckpt_blocks: get_u64(b, 24),
            log_blocks: get_u64(b, 32),
            max_file_size: get_u64(b, 40),
        };
        if sb.geometry_ok(dev_blocks) {
            Ok(sb)
        } else {
            Err(bad)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdev::MemDisk;

    #[test]
    fn default_layout_is_ordered_and_fits() {
        let sb = Superblock::new(10_000, &FormatOptions::default()).unwrap();
        let l = sb.layout();
        assert_eq!(l.checkpoint[0].start, 1);
        assert_eq!(l.checkpoint[0].end, l.checkpoint[1].start);
        assert_eq!(l.checkpoint[1].end, l.log.start);
        assert_eq!(l.log.end, l.data.start);
        assert_eq!(l.data.end, 10_000);
        assert_eq!(sb.ckpt_blocks, 156);
        assert_eq!(sb.log_blocks, 78);
    }

    #[test]
    fn rejects_impossible_geometry() {
        let o = FormatOptions::default();
        assert_eq!(Superblock::new(17, &o), Err(FsError::InvalidGeometry));
        assert!(Superblock::new(18, &o).is_ok(), "room for one data block");
        let tiny_ckpt = FormatOptions {
            checkpoint_blocks: Some(2),
            ..o
        };
        assert_eq!(
            Superblock::new(1000, &tiny_ckpt),
            Err(FsError::InvalidGeometry)
        );
        let zero_max = FormatOptions {
            max_file_size: 0,
            ..o
        };
        assert_eq!(
            Superblock::new(1000, &zero_max),
            Err(FsError::InvalidGeometry)
        );
        let huge = FormatOptions {
            log_blocks: Some(u64::MAX),
            ..o
        };
        assert_eq!(Superblock::new(1000, &huge), Err(FsError::InvalidGeometry));
    }

    #[test]
    fn round_trip_and_damage() {
        let mut d = MemDisk::new(1000);
        let sb = Superblock::new(1000, &FormatOptions::default()).unwrap();
        sb.write(&mut d).unwrap();
        assert_eq!(Superblock::read(&mut d).unwrap(), sb);
        // A flipped byte anywhere in the block is caught, including the unused tail.
        for at in [16, 47, 200, 4095] {
            let mut d2 = d.clone();
            d2.bytes_mut()[at] ^= 0x40;
            assert_eq!(
                Superblock::read(&mut d2),
                Err(FsError::Corrupted(Corruption::Superblock))
            );
        }
        let mut d3 = d.clone();
        d3.bytes_mut()[0] ^= 1;
        assert_eq!(
            Superblock::read(&mut d3),
            Err(FsError::Corrupted(Corruption::BadMagic))
        );
        // A device that shrank under the filesystem is rejected.
        let mut small = MemDisk::new(999);
        small.bytes_mut()[..BLOCK_SIZE].copy_from_slice(&d.bytes()[..BLOCK_SIZE]);
        assert_eq!(
            Superblock::read(&mut small),
            Err(FsError::Corrupted(Corruption::Superblock))
        );
    }
}
