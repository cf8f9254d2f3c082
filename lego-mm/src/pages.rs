//! The owner's page index: (process, page) → frame, for the pages of the vRegions an
//! mComponent owns.
//!
//! A page gets a frame the first time a pComponent flushes it (or the monitor writes it, when
//! loading a program): [`PageIndex::get_or_zero`]. A fetch of a page without a frame is
//! answered with zeros and allocates nothing ([`PageIndex::lookup`] is `None`), so pages never
//! written cost nothing, which is LegoOS's delayed allocation carried to the owner.
//!
//! The index is a `hashbrown` map from one `u64` key (29 bits of process id, 35 bits of page
//! number: the user half has 2^35 pages) to the frame number, 16 bytes an entry plus a
//! control byte. It never holds more entries than the frame pool has frames (`capacity`), and
//! it is allocated once, when created, for **twice** that: hashbrown leaves a tombstone for
//! each removed entry and, when tombstones use up the spare room, rehashes in place only if at
//! most half the table is full, otherwise it doubles the table. Reserving for `2 × capacity`
//! keeps every rehash in place, so the index never reallocates (a test churns it at full
//! capacity and checks). The cost is 35 to 70 bytes per frame of the pool (buckets are a power
//! of two), 0.9 to 1.7 % of the memory it indexes. Frames come from a [`FramePool`] the caller
//! provides (the mComponent's memory for vRegions); the index never allocates a frame it
//! cannot record.
//!
//! [`PageIndex::fork`] gives a child process the parent's pages by reference (LegoOS's fork at
//! the memory side): both keys name one frame, counted in a small table of extra references,
//! and the first write of either ([`PageIndex::get_or_zero`]) gives the writer a frame of its
//! own. Writes here are always whole pages (a flush), so nothing is copied. Freeing a shared
//! page drops a reference; the frame goes back to the pool with its last one.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Range;

use hashbrown::HashMap;

use crate::layout::USER_SPACE;
use crate::{Error, PAGE_SIZE};

/// Largest process id the index takes (29 bits).
pub const MAX_PID: u32 = (1 << 29) - 1;
const VPN_BITS: u32 = 35;

/// The memory a page index takes frames from.
pub trait FramePool {
    /// A free frame (its number), or `None` if the pool is empty.
    fn alloc(&mut self) -> Option<u64>;
    /// Gives back a frame from `alloc`.
    fn free(&mut self, frame: u64);
}

/// A frame for a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The frame number.
    pub frame: u64,
    /// Whether it was just allocated: the caller zero-fills it (or overwrites it whole).
    pub fresh: bool,
}

/// The page index. See the module documentation.
#[derive(Clone, Debug)]
pub struct PageIndex {
    map: HashMap<u64, u64>,
    counts: BTreeMap<u32, u64>,
    /// Frames more than one key names (after a fork): the number of *extra* keys.
    shared: HashMap<u64, u32>,
    capacity: usize,
}

fn key(pid: u32, va: u64) -> Result<u64, Error> {
    if pid > MAX_PID {
        return Err(Error::BadPid);
    }
    if va >= USER_SPACE {
        return Err(Error::BadAddress);
    }
    Ok((u64::from(pid) << VPN_BITS) | (va / PAGE_SIZE))
}

fn pid_of(key: u64) -> u32 {
    (key >> VPN_BITS) as u32
}

fn va_of(key: u64) -> u64 {
    (key & ((1 << VPN_BITS) - 1)) * PAGE_SIZE
}

impl PageIndex {
    /// An index for at most `capacity` pages (the frame pool's size), allocated now (see the
    /// module documentation for why twice that). [`Error::NoFrames`] if that allocation fails.
    pub fn new(capacity: usize) -> Result<PageIndex, Error> {
        let mut map = HashMap::new();
        map.try_reserve(capacity.checked_mul(2).ok_or(Error::NoFrames)?)
            .map_err(|_| Error::NoFrames)?;
        Ok(PageIndex {
            map,
            counts: BTreeMap::new(),
            shared: HashMap::new(),
            capacity,
        })
    }

    /// Pages recorded, all processes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no page is recorded.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The most pages the index records.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes the index's table takes (constant after [`PageIndex::new`]).
    pub fn allocation_bytes(&self) -> usize {
        self.map.allocation_size()
    }

    /// Pages recorded for `pid`.
    pub fn count(&self, pid: u32) -> u64 {
        self.counts.get(&pid).copied().unwrap_or(0)
    }

    /// `(pid, pages)` for every process with pages.
    pub fn processes(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.counts.iter().map(|(&p, &n)| (p, n))
    }

    /// The frame of the page holding `va` of `pid`, if it has one (invalid arguments have none).
    pub fn lookup(&self, pid: u32, va: u64) -> Option<u64> {
        self.map.get(&key(pid, va).ok()?).copied()
    }

    /// The frame to write the page holding `va` of `pid` into, allocating one on first use
    /// ([`Frame::fresh`]), or when the page's frame is shared with a forked process (then the
    /// new frame is fresh too: the caller writes the whole page). [`Error::NoFrames`] if the
    /// pool (or the index) is full, [`Error::BadAddress`] for an address outside the user half,
    /// [`Error::BadPid`] past [`MAX_PID`].
    pub fn get_or_zero<P: FramePool + ?Sized>(
        &mut self,
        pid: u32,
        va: u64,
        pool: &mut P,
    ) -> Result<Frame, Error> {
        let k = key(pid, va)?;
        if let Some(&frame) = self.map.get(&k) {
            if !self.shared.contains_key(&frame) {
                return Ok(Frame {
                    frame,
                    fresh: false,
                });
            }
            let own = pool.alloc().ok_or(Error::NoFrames)?;
            self.map.insert(k, own);
            self.release(frame, pool);
            return Ok(Frame {
                frame: own,
                fresh: true,
            });
        }
        if self.map.len() >= self.capacity {
            return Err(Error::NoFrames);
        }
        let frame = pool.alloc().ok_or(Error::NoFrames)?;
        self.map.insert(k, frame);
        *self.counts.entry(pid).or_insert(0) += 1;
        Ok(Frame { frame, fresh: true })
    }

    /// Frees the frames of `pid`'s pages in `range` (pages whose first byte is inside);
    /// returns how many. Probes page by page or scans the index, whichever is shorter.
    pub fn remove_range<P: FramePool + ?Sized>(
        &mut self,
        pid: u32,
        range: Range<u64>,
        pool: &mut P,
    ) -> u64 {
        let taken = self.take_range(pid, range);
        let n = taken.len() as u64;
        for (_, frame) in taken {
            self.release(frame, pool);
        }
        n
    }

    /// Drops one key's reference to `frame`: back to the pool with its last.
    fn release<P: FramePool + ?Sized>(&mut self, frame: u64, pool: &mut P) {
        match self.shared.get_mut(&frame) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                self.shared.remove(&frame);
            }
            None => pool.free(frame),
        }
    }

    /// Gives `child` (which has no pages) every page of `parent`, sharing their frames until
    /// either writes one. Returns the pages shared. [`Error::NoFrames`] if the index would
    /// then hold more entries than its capacity (it never grows), [`Error::BadPid`] if `child`
    /// has pages or either id is past [`MAX_PID`]. Nothing changes on failure.
    pub fn fork(&mut self, parent: u32, child: u32) -> Result<u64, Error> {
        key(parent, 0)?;
        key(child, 0)?;
        if parent == child || self.count(child) != 0 {
            return Err(Error::BadPid);
        }
        let n = self.count(parent);
        if n == 0 {
            return Ok(0);
        }
        if self.map.len() as u64 + n > self.capacity as u64 {
            return Err(Error::NoFrames);
        }
        let pages: Vec<(u64, u64)> = self
            .map
            .iter()
            .filter(|(k, _)| pid_of(**k) == parent)
            .map(|(&k, &f)| (va_of(k), f))
            .collect();
        // Every frame may become shared: room first, so nothing fails half-way.
        self.shared
            .try_reserve(pages.len())
            .map_err(|_| Error::NoFrames)?;
        let base = u64::from(child) << VPN_BITS;
        for &(va, frame) in &pages {
            self.map.insert(base | (va / PAGE_SIZE), frame);
            *self.shared.entry(frame).or_insert(0) += 1;
        }
        self.counts.insert(child, n);
        Ok(n)
    }

    /// Frames named by more than one page.
    pub fn shared_frames(&self) -> usize {
        self.shared.len()
    }

    /// Frees every frame of `pid`; returns how many.
    pub fn remove_process<P: FramePool + ?Sized>(&mut self, pid: u32, pool: &mut P) -> u64 {
        if self.count(pid) == 0 {
            return 0;
        }
        let mut gone = Vec::new();
        self.map.retain(|&k, &mut frame| {
            if pid_of(k) != pid {
                return true;
            }
            gone.push(frame);
            false
        });
        self.counts.remove(&pid);
        let n = gone.len() as u64;
        for frame in gone {
            self.release(frame, pool);
        }
        n
    }

    /// Moves `pid`'s pages from `[from, from + len)` to `[to, to + len)` (`mremap`), freeing
    /// the frames of pages already at the destination. Returns the number moved;
    /// [`Error::BadAddress`] if either range leaves the user half or they are unaligned.
    pub fn move_range<P: FramePool + ?Sized>(
        &mut self,
        pid: u32,
        from: u64,
        to: u64,
        len: u64,
        pool: &mut P,
    ) -> Result<u64, Error> {
        let ok = |a: u64| {
            a.is_multiple_of(PAGE_SIZE) && a.checked_add(len).is_some_and(|e| e <= USER_SPACE)
        };
        if !(ok(from) && ok(to) && len.is_multiple_of(PAGE_SIZE)) {
            return Err(Error::BadAddress);
        }
        key(pid, 0)?;
        let moving = self.take_range(pid, from..from + len);
        self.remove_range(pid, to..to + len, pool);
        let n = moving.len() as u64;
        for (va, frame) in moving {
            let k = (u64::from(pid) << VPN_BITS) | ((va - from + to) / PAGE_SIZE);
            self.map.insert(k, frame);
        }
        if n > 0 {
            *self.counts.entry(pid).or_insert(0) += n;
        }
        Ok(n)
    }

    /// Removes `pid`'s pages in `range` from the index and returns them `(va, frame)`.
    fn take_range(&mut self, pid: u32, range: Range<u64>) -> Vec<(u64, u64)> {
        let have = self.count(pid);
        if have == 0 || pid > MAX_PID {
            return Vec::new();
        }
        let lo = range.start.div_ceil(PAGE_SIZE);
        let hi = range.end.min(USER_SPACE).div_ceil(PAGE_SIZE);
        let mut taken = Vec::new();
        if hi <= lo {
            return taken;
        }
        let base = u64::from(pid) << VPN_BITS;
        if hi - lo <= have {
            for vpn in lo..hi {
                if let Some(frame) = self.map.remove(&(base | vpn)) {
                    taken.push((vpn * PAGE_SIZE, frame));
                }
            }
        } else {
            self.map.retain(|&k, &mut frame| {
                let vpn = va_of(k) / PAGE_SIZE;
                if pid_of(k) != pid || vpn < lo || vpn >= hi {
                    return true;
                }
                taken.push((vpn * PAGE_SIZE, frame));
                false
            });
        }
        let left = have - taken.len() as u64;
        if left == 0 {
            self.counts.remove(&pid);
        } else {
            self.counts.insert(pid, left);
        }
        taken
    }

    /// Checks that the per-process counts match the index and it is within capacity: for
    /// tests, O(len).
    pub fn verify(&self) -> Result<(), &'static str> {
        if self.map.len() > self.capacity {
            return Err("more pages than capacity");
        }
        let mut counts = BTreeMap::new();
        for &k in self.map.keys() {
            *counts.entry(pid_of(k)).or_insert(0u64) += 1;
        }
        if counts != self.counts {
            return Err("per-process counts disagree with the index");
        }
        let mut refs: BTreeMap<u64, u32> = BTreeMap::new();
        for &f in self.map.values() {
            *refs.entry(f).or_insert(0) += 1;
        }
        for (f, n) in &refs {
            let extra = self.shared.get(f).copied().unwrap_or(0);
            if *n != extra + 1 {
                return Err("a frame's shared count disagrees with the keys naming it");
            }
        }
        if self.shared.keys().any(|f| !refs.contains_key(f)) {
            return Err("a shared frame no page names");
        }
        Ok(())
    }
}
