//! `lego-mm`: a LegoOS process's virtual memory, as its memory components keep it.
//!
//! In LegoOS (OSDI '18, §4.4) a process's threads run on a processor component (pComponent)
//! while its memory lives on memory components (mComponents). The process's *home*
//! mComponent handles its address-space syscalls (`brk`, `mmap`, `munmap`, `mremap`,
//! `mprotect`, `madvise`) and keeps its *vRegion array*: the user space cut into 1 GiB
//! vRegions, each owned by the mComponent the global memory manager chose. A vRegion's owner
//! keeps the vmas and the pages of its part; the pComponent's ExCache fetches lines from the
//! owner on a miss and flushes dirty ones back to it, and zero-fills first touches of
//! anonymous memory itself. This crate is that logic, without the network:
//!
//! * [`vma`]: the vma tree with Linux's `mmap`/`munmap`/`mprotect`/`mremap`/`madvise` rules,
//!   fault classification (`SEGV_MAPERR` / `SEGV_ACCERR`) and stack growth;
//! * [`layout`]: where x86-64 Linux puts the stack, the mmap area, brk, and a static PIE;
//! * [`brk`]: Linux's `brk` on the tree;
//! * [`vregion`]: the vRegion array and the placement policies for new vRegions;
//! * [`pages`]: the owner's (process, page) → frame index over a bounded frame pool;
//! * [`fault`]: the pComponent's decision on a miss (zero-fill, fetch, signal), and the
//!   compact set of pages that have been at an owner ([`TouchedPages`]);
//! * [`linux`]: raw syscall flag words to typed requests;
//! * [`testing`]: a page-granular model of an address space and an in-memory frame pool, for
//!   property tests here and in the monitors.
//!
//! # Guarantees
//!
//! * Errors are Linux's, as errno values ([`Error::errno`]), for the same call; the
//!   documentation of each operation says where it deliberately differs.
//! * No input panics: addresses and lengths anywhere in `u64` are refused or handled.
//! * Every allocation is bounded: the vma count by `max_map_count`, the page index by the
//!   frame pool's size, the touched set by a chunk count; results are bounded by those.
//!
//! Everything is single-threaded (`&mut self`) and `no_std` with `alloc`.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod brk;
mod error;
pub mod fault;
pub mod layout;
pub mod linux;
pub mod pages;
pub mod testing;
mod touched;
pub mod vma;
pub mod vregion;

pub use brk::{Brk, BrkOutcome};
pub use error::{Changed, Error, Partial, errno};
pub use fault::{Access, Action, Fault, TouchedPages};
pub use layout::{Image, Layout, Random};
pub use pages::{FramePool, PageIndex};
pub use vma::{
    DEFAULT_MAX_MAP_COUNT, Hit, Kind, MapRequest, Mapped, Move, Placement, Prot, Remap, RemapFlags,
    VmFlags, Vma, VmaTree,
};
pub use vregion::{MemId, Placer, VRegions};

/// The page size.
pub const PAGE_SIZE: u64 = 4096;

/// `a` rounded up to a page; `None` if that overflows.
pub const fn page_up(a: u64) -> Option<u64> {
    match a.checked_add(PAGE_SIZE - 1) {
        Some(x) => Some(x & !(PAGE_SIZE - 1)),
        None => None,
    }
}

/// `a` rounded down to a page.
pub const fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}
