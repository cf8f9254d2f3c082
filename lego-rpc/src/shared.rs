//! Typed access to words of shared memory (QPCBs, the peer table) that other guests or the VMM
//! write concurrently.

use core::sync::atomic::{AtomicU32, AtomicU64};

/// The `u32` at `base + off`.
///
/// # Safety
/// `base + off` must be 4-aligned and inside a mapping that lives as long as `'a`.
pub unsafe fn u32_at<'a>(base: *mut u8, off: u64) -> &'a AtomicU32 {
    // SAFETY: guaranteed by the caller.
    unsafe { AtomicU32::from_ptr(base.add(off as usize).cast()) }
}

/// The `u64` at `base + off` (shared memory another party writes).
///
/// # Safety
/// `base + off` must be 8-aligned and inside a mapping that lives as long as `'a`.
pub unsafe fn u64_at<'a>(base: *mut u8, off: u64) -> &'a AtomicU64 {
    // SAFETY: guaranteed by the caller.
    unsafe { AtomicU64::from_ptr(base.add(off as usize).cast()) }
}
