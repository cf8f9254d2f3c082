//! The queue-pair control block (QPCB): the shared-memory half of a queue pair. It lives in its
//! owner's memory, registered as an MR (tag `QPCB | peer`) that the peer maps. The peer (the
//! sender) writes inbound completions into it and consumes the owner's posted receive buffers;
//! the owner polls it. Every field has one writer, and fields written by different parties are
//! on different cache lines.
//!
//! ```text
//! 0x0000  owner line:  magic, state, owner, peer | inbound_cons, rq_prod, sleeping (owner writes)
//! 0x0080  peer line:   inbound_prod, rq_cons                                      (peer writes)
//! 0x1000  inbound ring: INBOUND_ENTRIES x InboundEntry (peer writes, owner reads)
//! 0x3000  receive queue: RQ_ENTRIES x RecvEntry        (owner writes, peer reads)
//! ```
//!
//! Ring indices are free-running `u32` counters; an entry is published by storing the producer
//! counter with release ordering after writing the entry.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::cqe::WcOpcode;
use super::wr::MAX_MESSAGE_BYTES;

/// Size of a QPCB.
pub const QPCB_BYTES: u64 = 16 << 10;
/// `b"QPCB"`.
pub const MAGIC: u32 = u32::from_le_bytes(*b"QPCB");

/// Owner line: the magic word.
pub const MAGIC_OFF: u64 = 0x00;
/// Owner line: a [`QpState`] value (the owner's VMM sets `Error` when the peer dies).
pub const STATE_OFF: u64 = 0x04;
/// Owner line: owner component.
pub const OWNER_OFF: u64 = 0x08;
/// Owner line: peer component.
pub const PEER_OFF: u64 = 0x0c;
/// Owner line: a nonzero value unique to this QPCB, so a peer can tell it from an earlier
/// QPCB of the same owner for the same peer.
pub const NONCE_OFF: u64 = 0x10;
/// Owner line: the nonce of the peer's QPCB this one is connected to (0: not yet). A peer
/// finding a QPCB connected to another QPCB (its dead predecessor's) waits for a fresh one.
pub const BOUND_OFF: u64 = 0x14;
/// Owner line (second half): inbound entries consumed by the owner.
pub const INBOUND_CONS_OFF: u64 = 0x40;
/// Receive buffers posted by the owner.
pub const RQ_PROD_OFF: u64 = 0x44;
/// Nonzero while the owner sleeps: senders must ring its doorbell.
pub const SLEEPING_OFF: u64 = 0x48;
/// Peer line: inbound entries published by the peer.
pub const INBOUND_PROD_OFF: u64 = 0x80;
/// Peer line: receive buffers consumed by the peer.
pub const RQ_CONS_OFF: u64 = 0x84;

/// Inbound ring offset.
pub const INBOUND_OFFSET: u64 = 0x1000;
/// Inbound ring entries.
pub const INBOUND_ENTRIES: u32 = 256;
/// Receive queue offset.
pub const RQ_OFFSET: u64 = 0x3000;
/// Receive queue entries.
pub const RQ_ENTRIES: u32 = 128;

/// Queue pair states.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QpState {
    /// Created, not connected.
    Reset = 0,
    /// Ready to send.
    Ready = 1,
    /// Failed: every request completes with an error.
    Error = 2,
}

impl QpState {
    /// Decodes the wire value; anything unknown is an error state.
    pub fn from_u32(v: u32) -> QpState {
        match v {
            0 => QpState::Reset,
            1 => QpState::Ready,
            _ => QpState::Error,
        }
    }
}

/// A completion the peer publishes into the owner's inbound ring.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct InboundEntry {
    /// [`WcOpcode::Recv`] or [`WcOpcode::RecvRdmaWithImm`].
    pub opcode: u32,
    /// Bytes written.
    pub byte_len: u32,
    /// Immediate data.
    pub imm: u32,
    /// Flags: bit 0 = `imm` is valid (SEND with immediate).
    pub flags: u32,
    /// When it becomes visible (network model; ns of the shared clock, 0 = at once).
    pub deliver_at_ns: u64,
    /// For receives: the receive-queue counter value of the buffer consumed.
    pub rq_index: u32,
    /// Zero.
    pub _pad: u32,
}

/// A receive buffer the owner posts: `len` bytes at `offset` inside its own MR `rkey`, which
/// must allow remote writes (the sender copies into it).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RecvEntry {
    /// Returned in the receive completion.
    pub wr_id: u64,
    /// Offset inside the MR.
    pub offset: u64,
    /// Buffer length.
    pub len: u32,
    /// The MR.
    pub rkey: u32,
    /// Zero.
    pub _pad: u64,
}

/// A validated inbound completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inbound {
    /// What arrived.
    pub opcode: WcOpcode,
    /// Bytes.
    pub byte_len: u32,
    /// Immediate data, if any.
    pub imm: Option<u32>,
    /// Visibility time (ns; 0 = now).
    pub deliver_at_ns: u64,
    /// Receive-queue index consumed (receives).
    pub rq_index: u32,
}

/// Why an inbound entry was rejected (a confused or hostile peer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboundError {
    /// Not a receive-side opcode.
    Opcode(u32),
    /// Longer than any message can be.
    Length(u32),
}

impl InboundEntry {
    /// Validates what the peer wrote.
    pub fn decode(&self) -> Result<Inbound, InboundError> {
        let opcode = match WcOpcode::from_u32(self.opcode) {
            Some(o @ (WcOpcode::Recv | WcOpcode::RecvRdmaWithImm)) => o,
            _ => return Err(InboundError::Opcode(self.opcode)),
        };
        if u64::from(self.byte_len) > MAX_MESSAGE_BYTES {
            return Err(InboundError::Length(self.byte_len));
        }
        let imm = (opcode == WcOpcode::RecvRdmaWithImm || self.flags & 1 != 0).then_some(self.imm);
        Ok(Inbound {
            opcode,
            byte_len: self.byte_len,
            imm,
            deliver_at_ns: self.deliver_at_ns,
            rq_index: self.rq_index,
        })
    }
}

/// Entries waiting in a ring, or `None` if the counters are impossible (more than `capacity`
/// apart: a corrupt or hostile producer).
pub fn ring_pending(prod: u32, cons: u32, capacity: u32) -> Option<u32> {
    let n = prod.wrapping_sub(cons);
    (n <= capacity).then_some(n)
}

/// Offset of inbound entry `index` in the QPCB.
pub fn inbound_entry_offset(index: u32) -> u64 {
    INBOUND_OFFSET
        + u64::from(index % INBOUND_ENTRIES) * core::mem::size_of::<InboundEntry>() as u64
}

/// Offset of receive entry `index` in the QPCB.
pub fn rq_entry_offset(index: u32) -> u64 {
    RQ_OFFSET + u64::from(index % RQ_ENTRIES) * core::mem::size_of::<RecvEntry>() as u64
}

const _: () = assert!(INBOUND_OFFSET + INBOUND_ENTRIES as u64 * 32 <= RQ_OFFSET);
const _: () = assert!(RQ_OFFSET + RQ_ENTRIES as u64 * 32 <= QPCB_BYTES);
const _: () = assert!(core::mem::size_of::<InboundEntry>() == 32);
const _: () = assert!(core::mem::size_of::<RecvEntry>() == 32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_arithmetic_wraps() {
        assert_eq!(ring_pending(5, 3, 256), Some(2));
        assert_eq!(ring_pending(1, u32::MAX, 256), Some(2));
        assert_eq!(ring_pending(300, 3, 256), None);
        assert_eq!(
            inbound_entry_offset(INBOUND_ENTRIES + 1),
            INBOUND_OFFSET + 32
        );
        assert_eq!(rq_entry_offset(RQ_ENTRIES), RQ_OFFSET);
    }

    #[test]
    fn inbound_validation() {
        let e = InboundEntry {
            opcode: WcOpcode::RecvRdmaWithImm as u32,
            byte_len: 64,
            imm: 7,
            ..Default::default()
        };
        assert_eq!(e.decode().unwrap().imm, Some(7));
        let e = InboundEntry {
            opcode: WcOpcode::Recv as u32,
            byte_len: 64,
            imm: 7,
            ..Default::default()
        };
        assert_eq!(e.decode().unwrap().imm, None);
        let e = InboundEntry {
            opcode: WcOpcode::RdmaRead as u32,
            ..Default::default()
        };
        assert_eq!(e.decode(), Err(InboundError::Opcode(2)));
    }

    proptest::proptest! {
        #[test]
        fn inbound_decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 32)) {
            if let Ok(e) = InboundEntry::read_from_bytes(&bytes) {
                let _ = e.decode();
            }
        }
    }
}
