//! Helpers shared by the integration tests.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(dead_code, clippy::unwrap_used)]

use lego_mm::testing::Model;
use lego_mm::{Brk, Kind, Layout, MapRequest, PAGE_SIZE, Placement, Prot, VmFlags, Vma, VmaTree};

pub const P: u64 = PAGE_SIZE;

/// Pages in the tiny address space.
pub const TINY_PAGES: u64 = 512;

/// A 2 MiB address space with everything scaled down, so that tests run out of room, hit
/// guard gaps and stack limits within a few small mappings.
pub fn tiny_layout() -> Layout {
    let task_size = TINY_PAGES * P;
    Layout {
        task_size,
        min_addr: 4 * P,
        stack_top: task_size,
        stack_limit: 32 * P,
        guard_gap: 8 * P,
        mmap_base: task_size - 64 * P,
        legacy_base: (TINY_PAGES / 3 + 1) * P,
        brk_offset: 0,
    }
}

pub const TINY_BRK: u64 = 32 * P;
pub const TINY_DATA_LIMIT: u64 = 64 * P;

/// The tiny program: text (file 1, r-x) at pages 16..24, data (file 1, rw-, private) at
/// 24..28, bss (anonymous) at 28..30, stack (8 pages, grows down) at the top.
pub fn tiny_program() -> Vec<MapRequest> {
    let fixed = Placement::Fixed;
    vec![
        MapRequest::file(1, 0, 8 * P, Prot::RX).at(16 * P, fixed),
        MapRequest::file(1, 8 * P, 4 * P, Prot::RW).at(24 * P, fixed),
        MapRequest::anon(2 * P, Prot::RW).at(28 * P, fixed),
        MapRequest::anon(8 * P, Prot::RW)
            .at((TINY_PAGES - 8) * P, fixed)
            .with_flags(VmFlags::GROWS_DOWN),
    ]
}

/// The tiny layout with the mmap base low (just above brk's data limit), so that the top-down
/// search fails often and Linux's bottom-up fallback from `legacy_base` places mappings.
pub fn tiny_layout_low_base() -> Layout {
    Layout {
        mmap_base: 100 * P,
        ..tiny_layout()
    }
}

/// A tree with the tiny program loaded, its brk and the matching model.
pub fn tiny(max_count: usize) -> (VmaTree, Brk, Model) {
    tiny_with(tiny_layout(), max_count)
}

/// [`tiny`] with another layout.
pub fn tiny_with(layout: Layout, max_count: usize) -> (VmaTree, Brk, Model) {
    let mut t = VmaTree::new(layout, max_count);
    let mut m = Model::new(layout, max_count, TINY_BRK, TINY_DATA_LIMIT, 0);
    for r in tiny_program() {
        t.map(&r).unwrap();
        m.map(&r).unwrap();
    }
    (t, Brk::new(TINY_BRK, TINY_DATA_LIMIT, 0), m)
}

/// An empty tree over the tiny layout.
pub fn tiny_empty(max_count: usize) -> VmaTree {
    VmaTree::new(tiny_layout(), max_count)
}

/// An anonymous private vma, for expected values.
pub fn anon(start: u64, end: u64, prot: Prot) -> Vma {
    Vma {
        start,
        end,
        prot,
        max_prot: Prot::RWX,
        flags: VmFlags::PRIVATE,
        kind: Kind::Anon,
    }
}

/// A private file vma, for expected values.
pub fn file(start: u64, end: u64, prot: Prot, file: u32, offset: u64) -> Vma {
    Vma {
        kind: Kind::File { file, offset },
        ..anon(start, end, prot)
    }
}

/// The tree's vmas as `(start, end)` pairs.
pub fn spans(t: &VmaTree) -> Vec<(u64, u64)> {
    t.iter().map(|v| (v.start, v.end)).collect()
}
