//! The peer table: a page of guest memory the VMM writes and the guest driver reads, saying which
//! components are up. The VMM bumps `generation` after every change and raises the fabric
//! interrupt, so a sleeping driver notices a peer's death at once.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::MAX_PEERS;

/// `b"PEER"`.
pub const MAGIC: u32 = u32::from_le_bytes(*b"PEER");

/// A peer's state.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerState {
    /// Never introduced.
    Absent = 0,
    /// Up: its MRs can be looked up.
    Up = 1,
    /// Failed: every operation towards it completes with `RetryExceeded`.
    Dead = 2,
}

impl PeerState {
    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> PeerState {
        match v {
            1 => PeerState::Up,
            2 => PeerState::Dead,
            _ => PeerState::Absent,
        }
    }
}

/// One peer.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct PeerEntry {
    /// A [`PeerState`] value.
    pub state: u32,
    /// Bumped each time the component is (re)started.
    pub incarnation: u32,
    /// Its role (`lego_abi::Role` value).
    pub role: u32,
    /// Bumped when one of its MRs is revoked: cached lookups must be redone.
    pub mr_generation: u32,
    /// Its name (`p0`, `m1`), NUL padded.
    pub name: [u8; 16],
}

/// The table.
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct PeerTable {
    /// [`MAGIC`].
    pub magic: u32,
    /// Bumped after every change.
    pub generation: u32,
    /// This component's id.
    pub self_id: u32,
    /// Zero.
    pub _pad: u32,
    /// Indexed by component id.
    pub peers: [PeerEntry; MAX_PEERS as usize],
}

/// Byte offset of the `generation` field.
pub const GENERATION_OFF: u64 = 4;

/// Byte offset of peer `id`'s entry.
pub const fn entry_offset(id: u32) -> u64 {
    16 + id as u64 * core::mem::size_of::<PeerEntry>() as u64
}

const _: () = assert!(core::mem::size_of::<PeerTable>() <= 4096);
