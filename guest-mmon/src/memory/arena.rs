//! The frames that hold processes' pages at this mComponent: taken from the frame allocator
//! once at boot (whatever the buffer cache left), handed out one at a time from a stack of free
//! frame numbers. The runtime's range allocator is made for few large pieces; pages come and
//! go one by one here.

extern crate alloc;

use alloc::vec::Vec;

use guest_rt::mm::{FRAMES, phys_to_virt};
use lego_mm::FramePool;

/// Bytes of free frames left to the runtime (page tables, I/O windows, connections).
const KEEP: u64 = 16 << 20;

/// The pool.
#[derive(Debug)]
pub struct Arena {
    free: Vec<u32>,
    total: u64,
}

impl Arena {
    /// Takes every free frame but [`KEEP`] bytes.
    pub fn take_all() -> Arena {
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let mut want = FRAMES.lock().free_bytes().saturating_sub(KEEP) / 4096;
        let mut chunk = want;
        while want > 0 && chunk > 0 {
            let got = FRAMES.lock().alloc(chunk.min(want), 1);
            match got {
                Some(pa) => {
                    pieces.push((pa, chunk.min(want)));
                    want -= chunk.min(want);
                }
                None => chunk /= 2,
            }
        }
        let total: u64 = pieces.iter().map(|p| p.1).sum();
        let mut free = Vec::new();
        if free.try_reserve_exact(total as usize).is_err() {
            // No heap for the free stack: give the frames back and serve no memory.
            for (pa, n) in pieces {
                let _ = FRAMES.lock().free(pa, n);
            }
            return Arena {
                free: Vec::new(),
                total: 0,
            };
        }
        // Highest first, so the lowest frames are handed out first.
        for (pa, n) in pieces.iter().rev() {
            for i in (0..*n).rev() {
                free.push(((pa >> 12) + i) as u32);
            }
        }
        Arena { free, total }
    }

    /// Frames in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Frames free.
    pub fn available(&self) -> u64 {
        self.free.len() as u64
    }

    /// Copies frame `frame` into `out` (at most a page).
    pub fn read(frame: u64, out: &mut [u8]) {
        let n = out.len().min(4096);
        // SAFETY: frame numbers come from this arena, whose frames are ours for good and are
        // reached through the direct map; the service is single-threaded.
        unsafe { core::ptr::copy_nonoverlapping(phys_to_virt(frame << 12), out.as_mut_ptr(), n) };
    }

    /// Copies `data` (at most a page) into frame `frame`, zeroing the rest of it.
    pub fn write(frame: u64, data: &[u8]) {
        let n = data.len().min(4096);
        let p = phys_to_virt(frame << 12);
        // SAFETY: as in `read`.
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), p, n);
            core::ptr::write_bytes(p.add(n), 0, 4096 - n);
        }
    }
}

impl FramePool for Arena {
    fn alloc(&mut self) -> Option<u64> {
        self.free.pop().map(u64::from)
    }

    fn free(&mut self, frame: u64) {
        // Never more than we hold: the stack was reserved for all of them.
        if self.free.len() < self.free.capacity() {
            self.free.push(frame as u32);
        }
    }
}
