//! `brk`, with Linux's rules, on top of the vma tree.
//!
//! The break starts at [`crate::Layout::brk_start`] with nothing mapped; growing maps
//! anonymous read-write memory from the page-rounded old break to the page-rounded new one
//! (merging with the brk vma or any compatible neighbour), shrinking unmaps the pages above
//! the new break. The kernel remembers the exact (unaligned) break it was given.

use alloc::vec::Vec;
use core::ops::Range;

use crate::vma::{MapRequest, Placement};
use crate::{Prot, Vma, VmaTree, page_up};

/// A process's break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Brk {
    start: u64,
    cur: u64,
    data_limit: u64,
    static_data: u64,
}

/// The result of a `brk` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrkOutcome {
    /// The syscall's return value: the new break, or the old one if the request was refused
    /// (`brk` never returns an error).
    pub brk: u64,
    /// Pages mapped by growth.
    pub grown: Option<Range<u64>>,
    /// What shrinking unmapped: the caller frees those pages as for `munmap`.
    pub freed: Vec<Vma>,
}

impl Brk {
    /// A break at `start` (from [`crate::Layout::brk_start`]), limited by `RLIMIT_DATA`
    /// (`data_limit`, `u64::MAX` for unlimited), which Linux applies to the heap plus the
    /// ELF's data segment (`static_data` bytes: its `end_data - start_data`).
    pub fn new(start: u64, data_limit: u64, static_data: u64) -> Brk {
        Brk {
            start,
            cur: start,
            data_limit,
            static_data,
        }
    }

    /// The current break.
    pub fn current(&self) -> u64 {
        self.cur
    }

    /// Where the heap starts.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Sets `RLIMIT_DATA` (`setrlimit`).
    pub fn set_data_limit(&mut self, limit: u64) {
        self.data_limit = limit;
    }

    /// `brk(request)`, as Linux 6.x: a request below the start (`brk(0)`) or past the data
    /// limit returns the current break. Otherwise, with both breaks rounded up to pages: the
    /// same page only records the new break; a shrink unmaps `[new, old)` (refused if no vma
    /// intersects it, as when the program unmapped its heap itself); a growth maps
    /// `[old, new)` anonymous read-write if the new end stays inside the user space and one
    /// page (or the guard gap, below a grows-down vma) below the next vma, and the vma bound
    /// allows it. A refused request returns the old break and changes nothing.
    pub fn set(&mut self, tree: &mut VmaTree, request: u64) -> BrkOutcome {
        let refused = BrkOutcome {
            brk: self.cur,
            grown: None,
            freed: Vec::new(),
        };
        if request < self.start {
            return refused;
        }
        if (request - self.start).saturating_add(self.static_data) > self.data_limit {
            return refused;
        }
        let (Some(new), Some(old)) = (page_up(request), page_up(self.cur)) else {
            return refused;
        };
        if new == old {
            self.cur = request;
            return BrkOutcome {
                brk: request,
                ..refused
            };
        }
        if request <= self.cur {
            if tree.intersecting(new, old).next().is_none() {
                return refused;
            }
            return match tree.unmap(new, old - new) {
                Ok(freed) => {
                    self.cur = request;
                    BrkOutcome {
                        brk: request,
                        grown: None,
                        freed,
                    }
                }
                Err(_) => refused,
            };
        }
        let l = *tree.layout();
        if new > l.task_size {
            return refused;
        }
        let guard = new.saturating_add(crate::PAGE_SIZE);
        if let Some(next) = tree.find_from(old)
            && guard > next.start_gap(l.guard_gap)
        {
            return refused;
        }
        let req = MapRequest {
            max_prot: Prot::RWX,
            ..MapRequest::anon(new - old, Prot::RW).at(old, Placement::Fixed)
        };
        match tree.map(&req) {
            Ok(_) => {
                self.cur = request;
                BrkOutcome {
                    brk: request,
                    grown: Some(old..new),
                    freed: Vec::new(),
                }
            }
            Err(_) => refused,
        }
    }
}
