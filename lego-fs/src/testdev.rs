//! Devices for tests: [`MemDisk`], a RAM disk, and [`CrashDisk`], which keeps track of writes
//! not yet flushed so a test can simulate power loss at any point, including torn blocks.
//! Both are `no_std` and usable by other crates' tests (e.g. the storage monitor's).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use crate::device::{BLOCK_SIZE, Block, BlockDevice};
use crate::error::DevError;

/// A RAM disk whose writes are durable at once.
#[derive(Clone, PartialEq, Eq)]
pub struct MemDisk {
    data: Vec<u8>,
}

impl MemDisk {
    /// A zeroed disk of `blocks` blocks.
    pub fn new(blocks: u64) -> Self {
        MemDisk {
            data: vec![0; blocks as usize * BLOCK_SIZE],
        }
    }

    /// The raw image.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The raw image, for corrupting it.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    fn range(&self, block: u64) -> Result<core::ops::Range<usize>, DevError> {
        let start = usize::try_from(block)
            .ok()
            .and_then(|b| b.checked_mul(BLOCK_SIZE))
            .filter(|s| s + BLOCK_SIZE <= self.data.len())
            .ok_or(DevError::OutOfRange)?;
        Ok(start..start + BLOCK_SIZE)
    }
}

impl fmt::Debug for MemDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemDisk")
            .field("blocks", &self.block_count())
            .finish()
    }
}

impl BlockDevice for MemDisk {
    fn block_count(&self) -> u64 {
        (self.data.len() / BLOCK_SIZE) as u64
    }

    fn read(&mut self, block: u64, buf: &mut Block) -> Result<(), DevError> {
        let r = self.range(block)?;
        buf.copy_from_slice(&self.data[r]);
        Ok(())
    }

    fn write(&mut self, block: u64, buf: &Block) -> Result<(), DevError> {
        let r = self.range(block)?;
        self.data[r].copy_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DevError> {
        Ok(())
    }
}

/// A sparse RAM disk of any size (up to 2^64 blocks): only blocks that hold something other
/// than zeros take memory, like a sparse image file on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SparseDisk {
    blocks: u64,
    data: BTreeMap<u64, Box<Block>>,
}

impl SparseDisk {
    /// A zeroed disk of `blocks` blocks.
    pub fn new(blocks: u64) -> Self {
        SparseDisk {
            blocks,
            data: BTreeMap::new(),
        }
    }

    /// Blocks that hold data.
    pub fn used_blocks(&self) -> usize {
        self.data.len()
    }
}

impl BlockDevice for SparseDisk {
    fn block_count(&self) -> u64 {
        self.blocks
    }

    fn read(&mut self, block: u64, buf: &mut Block) -> Result<(), DevError> {
        if block >= self.blocks {
            return Err(DevError::OutOfRange);
        }
        match self.data.get(&block) {
            Some(b) => buf.copy_from_slice(&b[..]),
            None => buf.fill(0),
        }
        Ok(())
    }

    fn write(&mut self, block: u64, buf: &Block) -> Result<(), DevError> {
        if block >= self.blocks {
            return Err(DevError::OutOfRange);
        }
        if buf.iter().all(|&b| b == 0) {
            self.data.remove(&block);
        } else {
            self.data.insert(block, Box::new(*buf));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DevError> {
        Ok(())
    }
}

/// SplitMix64: a tiny deterministic generator for crash simulation.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next pseudo-random value.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[derive(Debug)]
struct CrashState {
    durable: MemDisk,
    unflushed: Vec<(u64, Box<Block>)>,
    latest: BTreeMap<u64, usize>,
    writes: u64,
    ops: u64,
    flushes: u64,
    submits: u64,
    fail_at: Option<u64>,
    fail_flush_at: Option<u64>,
    dead: bool,
}

/// A disk that remembers which writes are not yet durable. Clones share the same disk, so a
/// test can keep a handle to inject failures and to crash the device after handing it to
/// [`Fs`](crate::Fs).
#[derive(Debug, Clone)]
pub struct CrashDisk {
    inner: Rc<RefCell<CrashState>>,
}

impl CrashDisk {
    /// The device time [`BlockDevice::io_time`] counts per flush or submit.
    pub const TRIP_NS: u64 = 1000;

    /// Wraps `disk`, whose current contents count as durable.
    pub fn new(disk: MemDisk) -> Self {
        CrashDisk {
            inner: Rc::new(RefCell::new(CrashState {
                durable: disk,
                unflushed: Vec::new(),
                latest: BTreeMap::new(),
                writes: 0,
                ops: 0,
                flushes: 0,
                submits: 0,
                fail_at: None,
                fail_flush_at: None,
                dead: false,
            })),
        }
    }

    /// Lets `n` more writes or flushes succeed; the next one fails and the device dies: every
    /// later read, write and flush fails too (power is gone; the unflushed writes are what
    /// [`Self::crash`] decides about). Dying at a flush is the interesting case: everything
    /// written before it is still unflushed.
    pub fn fail_after(&self, n: u64) {
        let mut s = self.inner.borrow_mut();
        s.fail_at = Some(s.ops + n);
    }

    /// Lets `n` more flushes succeed; the device dies at the next one (writes are not counted).
    /// Crashing at a flush is where torn transactions come from, so tests aim there.
    pub fn fail_at_flush(&self, n: u64) {
        let mut s = self.inner.borrow_mut();
        s.fail_flush_at = Some(s.flushes + n);
    }

    /// Brings a failed device back (a transient error) and cancels any pending failure.
    pub fn revive(&self) {
        let mut s = self.inner.borrow_mut();
        s.dead = false;
        s.fail_at = None;
        s.fail_flush_at = None;
    }

    /// Whether the device has failed.
    pub fn is_dead(&self) -> bool {
        self.inner.borrow().dead
    }

    /// Successful writes so far.
    pub fn writes(&self) -> u64 {
        self.inner.borrow().writes
    }

    /// Successful flushes so far.
    pub fn flushes(&self) -> u64 {
        self.inner.borrow().flushes
    }

    /// Calls of `submit` so far (writes handed over without a flush).
    pub fn submits(&self) -> u64 {
        self.inner.borrow().submits
    }

    /// Successful writes and flushes so far (the unit of [`Self::fail_after`]).
    pub fn ops(&self) -> u64 {
        self.inner.borrow().ops
    }

    /// Writes since the last successful flush.
    pub fn unflushed_writes(&self) -> usize {
        self.inner.borrow().unflushed.len()
    }

    /// Only what was flushed.
    pub fn durable(&self) -> MemDisk {
        self.inner.borrow().durable.clone()
    }

    /// The image power loss would leave now: every flushed write, plus a subset of the unflushed
    /// ones chosen by `seed`, each kept whole, dropped, or torn (a random mix of its 512-byte
    /// sectors, old and new). Depending on the seed, all or none of them may be kept.
    pub fn crash(&self, seed: u64) -> MemDisk {
        let s = self.inner.borrow();
        let mut rng = SplitMix::new(seed);
        let mut img = s.durable.clone();
        let policy = rng.next_u64() % 4;
        for (block, data) in &s.unflushed {
            let Ok(r) = img.range(*block) else { continue };
            let dst = &mut img.data[r];
            let choice = match policy {
                0 => 0,
                1 => 1,
                _ => rng.next_u64() % 3,
            };
            match choice {
                0 => {}
                1 => dst.copy_from_slice(&data[..]),
                _ => {
                    let mask = rng.next_u64();
                    for (i, (d, n)) in dst.chunks_mut(512).zip(data.chunks(512)).enumerate() {
                        if mask & (1 << i) != 0 {
                            d.copy_from_slice(n);
                        }
                    }
                }
            }
        }
        img
    }
}

impl BlockDevice for CrashDisk {
    fn block_count(&self) -> u64 {
        self.inner.borrow().durable.block_count()
    }

    fn read(&mut self, block: u64, buf: &mut Block) -> Result<(), DevError> {
        let mut s = self.inner.borrow_mut();
        if s.dead {
            return Err(DevError::Io);
        }
        match s.latest.get(&block) {
            Some(&i) => {
                buf.copy_from_slice(&s.unflushed[i].1[..]);
                Ok(())
            }
            None => s.durable.read(block, buf),
        }
    }

    fn write(&mut self, block: u64, buf: &Block) -> Result<(), DevError> {
        let mut s = self.inner.borrow_mut();
        if s.dead || s.fail_at == Some(s.ops) {
            s.dead = true;
            return Err(DevError::Io);
        }
        s.durable.range(block)?;
        let i = s.unflushed.len();
        s.unflushed.push((block, Box::new(*buf)));
        s.latest.insert(block, i);
        s.writes += 1;
        s.ops += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DevError> {
        let s = &mut *self.inner.borrow_mut();
        if s.dead || s.fail_at == Some(s.ops) || s.fail_flush_at == Some(s.flushes) {
            s.dead = true;
            return Err(DevError::Io);
        }
        for (block, data) in s.unflushed.drain(..) {
            s.durable.write(block, &data)?;
        }
        s.latest.clear();
        s.ops += 1;
        s.flushes += 1;
        Ok(())
    }

    fn submit(&mut self) -> Result<(), DevError> {
        self.inner.borrow_mut().submits += 1;
        Ok(())
    }

    /// A round trip per flush or submit, each "waiting" [`CrashDisk::TRIP_NS`].
    fn io_time(&self) -> crate::IoTime {
        let s = self.inner.borrow();
        let round_trips = s.flushes + s.submits;
        crate::IoTime {
            round_trips,
            wait_ns: round_trips * Self::TRIP_NS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blk(v: u8) -> Box<Block> {
        Box::new([v; BLOCK_SIZE])
    }

    #[test]
    fn memdisk_bounds() {
        let mut d = MemDisk::new(2);
        let mut b = blk(0);
        d.write(1, &blk(7)).unwrap();
        d.read(1, &mut b).unwrap();
        assert_eq!(b[100], 7);
        assert_eq!(d.write(2, &b), Err(DevError::OutOfRange));
        assert_eq!(d.read(u64::MAX, &mut b), Err(DevError::OutOfRange));
    }

    #[test]
    fn crash_keeps_flushed_and_chooses_among_unflushed() {
        let d = CrashDisk::new(MemDisk::new(4));
        let mut h = d.clone();
        h.write(0, &blk(1)).unwrap();
        h.flush().unwrap();
        h.write(1, &blk(2)).unwrap();
        h.write(1, &blk(3)).unwrap();
        let mut b = blk(0);
        h.read(1, &mut b).unwrap();
        assert_eq!(b[0], 3, "reads see the newest unflushed write");
        assert_eq!(d.unflushed_writes(), 2);
        let mut seen = BTreeMap::new();
        for seed in 0..200 {
            let img = d.crash(seed);
            assert!(img.bytes()[..BLOCK_SIZE].iter().all(|&x| x == 1));
            for sector in img.bytes()[BLOCK_SIZE..2 * BLOCK_SIZE].chunks(512) {
                assert!(
                    sector.iter().all(|&x| x == sector[0]),
                    "torn only at sectors"
                );
                *seen.entry(sector[0]).or_insert(0) += 1;
            }
        }
        assert_eq!(seen.keys().copied().collect::<Vec<_>>(), [0, 2, 3]);
        assert_eq!(d.durable().bytes()[BLOCK_SIZE], 0);
    }

    #[test]
    fn failure_kills_the_device_until_revived() {
        let d = CrashDisk::new(MemDisk::new(4));
        let mut h = d.clone();
        d.fail_after(1);
        h.write(0, &blk(1)).unwrap();
        assert_eq!(h.write(1, &blk(1)), Err(DevError::Io));
        assert!(d.is_dead());
        assert_eq!(h.flush(), Err(DevError::Io));
        let mut b = blk(0);
        assert_eq!(h.read(0, &mut b), Err(DevError::Io));
        d.revive();
        h.flush().unwrap();
        assert_eq!((d.writes(), d.ops()), (1, 2));
        assert_eq!(d.durable().bytes()[0], 1);
        // Dying at a flush leaves the writes before it unflushed.
        h.write(1, &blk(2)).unwrap();
        d.fail_after(0);
        assert_eq!(h.flush(), Err(DevError::Io));
        assert_eq!(d.unflushed_writes(), 1);
        d.revive();
        d.fail_at_flush(1);
        h.flush().unwrap();
        h.write(2, &blk(2)).unwrap();
        h.write(3, &blk(2)).unwrap();
        assert_eq!(h.flush(), Err(DevError::Io));
        assert_eq!((d.unflushed_writes(), d.flushes()), (2, 2));
    }
}
