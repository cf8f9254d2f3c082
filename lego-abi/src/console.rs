//! The console ring: guest-written bytes in a guest-memory ring that the VMM drains.
//!
//! Header at the ring's physical start, then `size` data bytes (a power of two). `head` and
//! `tail` are free-running byte counters; the guest (the only producer, under its console lock)
//! advances `head` after writing bytes, the VMM advances `tail` after reading them.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The ring header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RingHeader {
    /// Bytes ever written by the guest.
    pub head: u32,
    /// Bytes ever consumed by the VMM.
    pub tail: u32,
    /// Data bytes; a power of two.
    pub size: u32,
    /// Zero.
    pub _pad: u32,
}

/// Offset of the data area from the ring's start.
pub const DATA_OFFSET: u64 = core::mem::size_of::<RingHeader>() as u64;
/// Byte offset of `head` in the header.
pub const HEAD_OFFSET: u64 = 0;
/// Byte offset of `tail` in the header.
pub const TAIL_OFFSET: u64 = 4;

/// Bytes waiting to be consumed, or `None` if the counters are inconsistent (a guest bug or a
/// hostile guest: the VMM then resynchronises instead of trusting them).
pub fn pending(head: u32, tail: u32, size: u32) -> Option<u32> {
    let n = head.wrapping_sub(tail);
    (n <= size).then_some(n)
}

/// Free space for the producer.
pub fn free(head: u32, tail: u32, size: u32) -> u32 {
    size.saturating_sub(head.wrapping_sub(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_wrap() {
        assert_eq!(pending(5, 0, 8), Some(5));
        assert_eq!(pending(2, u32::MAX - 1, 8), Some(4));
        assert_eq!(pending(20, 0, 8), None);
        assert_eq!(free(8, 0, 8), 0);
        assert_eq!(free(3, u32::MAX, 8), 4);
    }
}
