//! The block device the filesystem sits on.

use crate::error::DevError;

/// Size of a device block and of every on-disk structure's unit.
pub const BLOCK_SIZE: usize = 4096;

/// One device block.
pub type Block = [u8; BLOCK_SIZE];

/// Time spent waiting for a device, cumulative (see [`BlockDevice::io_time`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoTime {
    /// Round trips to the device (a batch of requests and its completions).
    pub round_trips: u64,
    /// Nanoseconds spent waiting for them.
    pub wait_ns: u64,
}

impl IoTime {
    /// The part of these counters not in `part` (an earlier snapshot, or a share of them).
    pub fn minus(self, part: IoTime) -> IoTime {
        IoTime {
            round_trips: self.round_trips.saturating_sub(part.round_trips),
            wait_ns: self.wait_ns.saturating_sub(part.wait_ns),
        }
    }

    /// Adds `more` to these counters.
    pub fn add(&mut self, more: IoTime) {
        self.round_trips += more.round_trips;
        self.wait_ns += more.wait_ns;
    }
}

/// A device of fixed-size 4 KiB blocks.
///
/// Writes may be reordered, dropped or torn by a crash until `flush` returns; after `flush`
/// returns successfully every earlier write is durable. The filesystem relies on nothing else.
pub trait BlockDevice {
    /// Number of blocks on the device.
    fn block_count(&self) -> u64;
    /// Reads block `block` into `buf`.
    fn read(&mut self, block: u64, buf: &mut Block) -> Result<(), DevError>;
    /// Writes `buf` to block `block` (durable only after the next successful `flush`).
    fn write(&mut self, block: u64, buf: &Block) -> Result<(), DevError>;
    /// Makes every earlier write durable.
    fn flush(&mut self) -> Result<(), DevError>;
    /// Hands every earlier write to the device without waiting for durability: after a crash of
    /// the machine using the device (not of the device), they are there. The filesystem uses it
    /// for hints that are worth an exit but not a flush (see `journal`'s confirm blocks).
    fn submit(&mut self) -> Result<(), DevError> {
        Ok(())
    }
    /// Time spent waiting for the device so far (benchmarks report it as the floor of what
    /// the filesystem can do); zero if the device does not keep count.
    fn io_time(&self) -> IoTime {
        IoTime::default()
    }
    /// Reads `bufs.len()` consecutive blocks starting at `first`: one request where the device
    /// can do that (a virtual disk pays a VM exit per request).
    fn read_many(&mut self, first: u64, bufs: &mut [Block]) -> Result<(), DevError> {
        for (i, b) in bufs.iter_mut().enumerate() {
            self.read(first + i as u64, b)?;
        }
        Ok(())
    }
}

impl<D: BlockDevice + ?Sized> BlockDevice for &mut D {
    fn block_count(&self) -> u64 {
        (**self).block_count()
    }
    fn read(&mut self, block: u64, buf: &mut Block) -> Result<(), DevError> {
        (**self).read(block, buf)
    }
    fn write(&mut self, block: u64, buf: &Block) -> Result<(), DevError> {
        (**self).write(block, buf)
    }
    fn flush(&mut self) -> Result<(), DevError> {
        (**self).flush()
    }
    fn read_many(&mut self, first: u64, bufs: &mut [Block]) -> Result<(), DevError> {
        (**self).read_many(first, bufs)
    }
    fn submit(&mut self) -> Result<(), DevError> {
        (**self).submit()
    }
    fn io_time(&self) -> IoTime {
        (**self).io_time()
    }
}

/// A zeroed block on the heap (4 KiB is too much for small guest stacks to copy around).
pub(crate) fn zeroed_block() -> alloc::boxed::Box<Block> {
    alloc::boxed::Box::new([0u8; BLOCK_SIZE])
}

/// CRC-32 (IEEE) of `data`.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// CRC-32 of a metadata block whose own checksum lives at `crc_at..crc_at + 4`: the checksum is
/// computed with that field zeroed, so the whole block (unused tail included) is covered.
pub(crate) fn block_crc(block: &Block, crc_at: usize) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&block[..crc_at]);
    h.update(&[0; 4]);
    h.update(&block[crc_at + 4..]);
    h.finalize()
}
