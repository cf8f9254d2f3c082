//! Setting up memory from the boot info's memory map: the heap is carved from the first usable
//! region large enough, the rest feeds the frame allocator.

use lego_abi::boot::{BootInfo, RegionKind};
use lego_abi::layout;

use super::frame::FrameAllocator;
use super::heap;
use crate::sync::IrqMutex;

/// The global page-frame allocator.
pub static FRAMES: IrqMutex<FrameAllocator> = IrqMutex::new(FrameAllocator::new());

/// What [`init`] set up.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryInfo {
    /// Heap bytes.
    pub heap_bytes: u64,
    /// Free frame bytes after boot.
    pub free_bytes: u64,
    /// ExCache `(gpa, len)`.
    pub excache: (u64, u64),
}

/// The direct-map address of physical `pa`.
pub fn phys_to_virt(pa: u64) -> *mut u8 {
    layout::phys_to_virt(pa) as *mut u8
}

/// The physical address of a direct-map or kernel-window virtual address.
pub fn virt_to_phys(va: u64) -> Option<u64> {
    layout::virt_to_phys(va)
}

/// Allocates `pages` contiguous zeroed frames; returns the physical address.
pub fn alloc_zeroed(pages: u64) -> Option<u64> {
    let pa = FRAMES.lock().alloc(pages, 1)?;
    // SAFETY: the frames were just allocated to us and are reached through the direct map.
    unsafe { core::ptr::write_bytes(phys_to_virt(pa), 0, (pages * 4096) as usize) };
    Some(pa)
}

/// Moves up to `bytes` of free frames into the heap, leaving at least `keep` bytes of frames
/// free, in spans of at least 1 MiB (each as large as the frame allocator has contiguous):
/// for a monitor whose work lives on the heap (the sComponent's metadata) rather than in
/// frames. Returns the bytes added. Boot CPU, before the frames are shared.
pub fn grow_heap(bytes: u64, keep: u64) -> u64 {
    const MIN_SPAN: u64 = 1 << 20;
    let mut added = 0;
    let mut span = bytes;
    while added < bytes && span >= MIN_SPAN {
        let pa = {
            let mut frames = FRAMES.lock();
            let room = frames.free_bytes().saturating_sub(keep);
            span = span.min(bytes - added).min(room) & !(MIN_SPAN - 1);
            if span < MIN_SPAN {
                break;
            }
            frames.alloc(span / 4096, 1)
        };
        match pa {
            // SAFETY: the frames were just taken from the frame allocator (nobody else has
            // them), lie in usable RAM, and are reached through the direct map.
            Some(pa) if unsafe { heap::add_span(phys_to_virt(pa), span as usize) } => {
                added += span;
            }
            Some(pa) => {
                // Not taken by the heap: give the frames back and stop.
                let _ = FRAMES.lock().free(pa, span / 4096);
                break;
            }
            // Not that much contiguous: try half.
            None => span /= 2,
        }
    }
    added
}

/// Heap size for a guest with `mem` bytes: 1/16 of memory, between 2 and 64 MiB.
fn heap_size(mem: u64) -> u64 {
    (mem / 16).clamp(2 << 20, 64 << 20)
}

/// Initialises the heap and the frame allocator. Boot CPU, once.
pub fn init(bi: &BootInfo) -> MemoryInfo {
    let want = heap_size(bi.mem_bytes());
    let mut heap_at = None;
    let mut frames = FRAMES.lock();
    for r in bi
        .regions()
        .iter()
        .filter(|r| r.kind() == Some(RegionKind::Usable))
    {
        let mut start = r.start;
        if heap_at.is_none() && r.len >= want {
            heap_at = Some(start);
            start += want;
        }
        // Overlapping or excess regions are a VMM bug; skip them rather than corrupt memory.
        let _ = frames.add(start, r.end());
    }
    let heap_bytes = match heap_at {
        Some(pa) => {
            // SAFETY: the range is usable memory from the VMM's map, removed from the frame
            // allocator above, and reached through the direct map.
            unsafe { heap::init(phys_to_virt(pa), want as usize) };
            want
        }
        None => panic!("no usable memory region of {want} bytes for the heap"),
    };
    MemoryInfo {
        heap_bytes,
        free_bytes: frames.free_bytes(),
        excache: bi.excache(),
    }
}
