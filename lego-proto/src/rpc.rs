//! RPC framing.
//!
//! Each component pair has, at each side, a *receive ring* (an MR tagged `RPC_RING | peer`) that
//! the peer writes requests into, and each component has *reply slots* (one MR tagged
//! `RPC_REPLY`) that peers write replies into. A request is one WRITE_WITH_IMM of
//! `[RequestHeader][payload]` at the ring offset the sender chose, with the low 31 bits of the
//! sender's ring byte counter as immediate; a reply is one WRITE_WITH_IMM of
//! `[ReplyHeader][payload]` into the caller's slot with [`IMM_REPLY`]` | slot` as immediate.
//!
//! Ring space is returned by the receiver publishing how many ring bytes it consumed in the
//! ring's first word, which the sender reads through its window: no acknowledgement messages.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Largest request or reply payload.
pub const MAX_PAYLOAD: usize = 64 << 10;
/// Data bytes of a receive ring.
pub const RING_BYTES: u64 = 256 << 10;
/// The ring MR: a header page (the consumed counter) then the data.
pub const RING_MR_BYTES: u64 = RING_BYTES + 4096;
/// Offset of the data in the ring MR.
pub const RING_DATA: u64 = 4096;
/// Reply slots per component.
pub const SLOTS: u32 = 32;
/// Bytes per reply slot (header page + largest payload).
pub const SLOT_BYTES: u64 = MAX_PAYLOAD as u64 + 4096;
/// Immediate bit marking a reply.
pub const IMM_REPLY: u32 = 1 << 31;
/// Message alignment in the ring.
pub const ALIGN: u64 = 64;
/// `b"LRQ1"`.
pub const REQUEST_MAGIC: u32 = u32::from_le_bytes(*b"LRQ1");
/// `b"LRP1"`.
pub const REPLY_MAGIC: u32 = u32::from_le_bytes(*b"LRP1");

/// Reply status codes.
pub mod status {
    /// Done.
    pub const OK: u32 = 0;
    /// No handler for the opcode.
    pub const UNKNOWN_OPCODE: u32 = 1;
    /// A malformed request.
    pub const BAD_REQUEST: u32 = 2;
    /// The handler failed.
    pub const FAILED: u32 = 3;
}

/// A request's header.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RequestHeader {
    /// [`REQUEST_MAGIC`].
    pub magic: u32,
    /// Operation.
    pub opcode: u32,
    /// Payload bytes.
    pub len: u32,
    /// The caller's reply slot.
    pub slot: u32,
    /// The caller's sequence number for the slot (stale replies are recognised by it).
    pub seq: u32,
    /// The calling component.
    pub src: u32,
    /// Zero.
    pub _pad: [u32; 2],
}

/// A reply's header.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ReplyHeader {
    /// [`REPLY_MAGIC`].
    pub magic: u32,
    /// A [`status`] value.
    pub status: u32,
    /// Payload bytes.
    pub len: u32,
    /// The request's `seq`.
    pub seq: u32,
    /// Zero.
    pub _pad: [u32; 4],
}

/// Bytes a request of `len` payload bytes takes in the ring.
pub const fn ring_footprint(len: usize) -> u64 {
    let n = core::mem::size_of::<RequestHeader>() as u64 + len as u64;
    n.div_ceil(ALIGN) * ALIGN
}

/// Where the next message of `footprint` bytes goes when `sent` bytes were written before:
/// messages never straddle the end of the ring (the tail is skipped). Returns the new counter
/// value at which the message starts.
pub const fn place(sent: u64, footprint: u64) -> u64 {
    let off = sent % RING_BYTES;
    if off + footprint > RING_BYTES {
        sent + (RING_BYTES - off)
    } else {
        sent
    }
}

/// Rebuilds a 64-bit ring counter from the 31 bits carried in an immediate, given the last
/// consumed counter (messages arrive in order, less than 2^31 bytes apart).
pub const fn widen(imm: u32, consumed: u64) -> u64 {
    let low = (imm & !IMM_REPLY) as u64;
    let base = consumed & !0x7fff_ffff;
    let v = base | low;
    if v < consumed { v + (1 << 31) } else { v }
}

/// Why a request in the ring was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Wrong magic.
    Magic,
    /// Longer than the maximum or than the ring's remaining space.
    Length,
    /// Slot number out of range.
    Slot,
}

impl RequestHeader {
    /// Checks a header read from the ring at ring offset `off`.
    pub fn validate(&self, off: u64) -> Result<(), FrameError> {
        if self.magic != REQUEST_MAGIC {
            return Err(FrameError::Magic);
        }
        if self.len as usize > MAX_PAYLOAD || off + ring_footprint(self.len as usize) > RING_BYTES {
            return Err(FrameError::Length);
        }
        if self.slot >= SLOTS {
            return Err(FrameError::Slot);
        }
        Ok(())
    }
}

const _: () = assert!(core::mem::size_of::<RequestHeader>() == 32);
const _: () = assert!(core::mem::size_of::<ReplyHeader>() == 32);
const _: () = assert!(ring_footprint(MAX_PAYLOAD) <= RING_BYTES / 2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footprints_and_placement() {
        assert_eq!(ring_footprint(0), 64);
        assert_eq!(ring_footprint(32), 64);
        assert_eq!(ring_footprint(33), 128);
        assert_eq!(place(0, 64), 0);
        assert_eq!(place(RING_BYTES - 64, 64), RING_BYTES - 64);
        assert_eq!(place(RING_BYTES - 64, 128), RING_BYTES);
    }

    #[test]
    fn counters_widen_across_wraps() {
        assert_eq!(widen(100, 0), 100);
        let c = (1u64 << 31) - 64;
        assert_eq!(widen(0, c), 1 << 31);
        let c = (5u64 << 31) + 10;
        assert_eq!(widen(20, c), (5 << 31) + 20);
    }

    #[test]
    fn header_validation() {
        let mut h = RequestHeader {
            magic: REQUEST_MAGIC,
            len: 100,
            slot: 3,
            ..Default::default()
        };
        h.validate(0).unwrap();
        assert_eq!(h.validate(RING_BYTES - 64), Err(FrameError::Length));
        h.slot = SLOTS;
        assert_eq!(h.validate(0), Err(FrameError::Slot));
        h.magic = 0;
        assert_eq!(h.validate(0), Err(FrameError::Magic));
    }

    proptest::proptest! {
        #[test]
        fn widen_inverts_truncation(consumed in 0u64..(1 << 50), ahead in 0u64..(1 << 30)) {
            let v = consumed + ahead;
            proptest::prop_assert_eq!(widen((v & 0x7fff_ffff) as u32, consumed), v);
        }

        #[test]
        fn placed_messages_fit(sent in 0u64..(1 << 40), len in 0usize..MAX_PAYLOAD) {
            let f = ring_footprint(len);
            let at = place(sent, f);
            proptest::prop_assert!(at >= sent);
            proptest::prop_assert!(at % RING_BYTES + f <= RING_BYTES);
        }

        #[test]
        fn validate_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 32), off in 0u64..RING_BYTES) {
            let h = RequestHeader::read_from_bytes(&bytes).unwrap();
            let _ = h.validate(off);
        }
    }
}
