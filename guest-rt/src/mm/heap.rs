//! The kernel heap: `talc` over a range of guest memory carved at boot. Interrupt handlers must
//! not allocate (the allocator's lock is not interrupt-safe).

use talc::{ErrOnOom, Span, Talc, Talck};

#[global_allocator]
static ALLOCATOR: Talck<spin::Mutex<()>, ErrOnOom> = Talc::new(ErrOnOom).lock();

/// Gives `[base, base + size)` to the heap.
///
/// # Safety
/// The range must be mapped, writable, unused by anything else, and never given twice.
pub unsafe fn init(base: *mut u8, size: usize) {
    // SAFETY: the caller guarantees the span is ours.
    let claimed = unsafe { ALLOCATOR.lock().claim(Span::from_base_size(base, size)) };
    if claimed.is_err() {
        panic!("heap span of {size} bytes at {base:p} is too small to claim");
    }
}

/// Gives `[base, base + size)` to the heap as one more span (after [`init`]). Returns whether
/// it was taken.
///
/// # Safety
/// As for [`init`]: the range must be mapped, writable, unused by anything else, and never
/// given twice.
pub unsafe fn add_span(base: *mut u8, size: usize) -> bool {
    // SAFETY: the caller guarantees the span is ours.
    unsafe { ALLOCATOR.lock().claim(Span::from_base_size(base, size)) }.is_ok()
}

/// Heap bytes free now (claimed, not allocated; allocations' own overhead is extra).
pub fn available_bytes() -> u64 {
    ALLOCATOR.lock().get_counters().available_bytes as u64
}

/// Bytes currently claimed by the heap.
pub fn claimed_bytes() -> u64 {
    ALLOCATOR.lock().get_counters().claimed_bytes as u64
}
