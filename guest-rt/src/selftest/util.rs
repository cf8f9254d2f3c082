//! Helpers shared by the self-tests.

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::arch::rdtsc;
use crate::time;

/// A deterministic byte stream (xorshift), different per seed.
pub fn fill(buf: &mut [u8], seed: u64) {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for b in buf {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

/// Nanoseconds since `t0` (a TSC value).
pub fn since_ns(t0: u64) -> u64 {
    time::ticks_to_ns(rdtsc().saturating_sub(t0))
}

/// p50 and p99 of TSC tick samples, in nanoseconds.
pub fn percentiles(samples: &mut [u64]) -> (u64, u64) {
    if samples.is_empty() {
        return (0, 0);
    }
    samples.sort_unstable();
    let at = |p: usize| {
        let rank = (p * samples.len()).div_ceil(100).clamp(1, samples.len());
        time::ticks_to_ns(samples[rank - 1])
    };
    (at(50), at(99))
}

/// A zeroed heap buffer (the heap is physically contiguous, so it can be an RDMA buffer).
pub fn buffer(len: usize) -> Vec<u8> {
    alloc::vec![0u8; len]
}

/// `Err` with context.
pub fn fail<T>(what: &str, detail: impl core::fmt::Debug) -> Result<T, String> {
    Err(format!("{what}: {detail:?}"))
}
