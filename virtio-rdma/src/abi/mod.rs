//! The device ABI, versioned. Everything is `#[repr(C)]`, explicitly padded and checked by
//! `zerocopy`; every decoder of bytes that another party wrote validates and never panics.

pub mod control;
pub mod cqe;
pub mod mr;
pub mod netmodel;
pub mod peers;
pub mod qpcb;
pub mod wr;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Bumped on any incompatible change to this module.
pub const VERSION: u32 = 1;
/// The virtio device id (not allocated by OASIS; private to this project: "LR").
pub const DEVICE_ID: u32 = 0x4c52;
/// The vendor id the device reports ("LEGO").
pub const VENDOR_ID: u32 = 0x4f47_454c;
/// The control queue's index.
pub const CONTROL_QUEUE: u16 = 0;
/// The control queue's size.
pub const CONTROL_QUEUE_SIZE: u16 = 16;

/// Most MRs a component can register.
pub const MAX_MRS: u32 = 256;
/// Most queue pairs per component.
pub const MAX_QPS: u32 = 64;
/// Most completion queues per component.
pub const MAX_CQS: u32 = 16;
/// Most components in a fabric (component ids are `0..MAX_PEERS`).
pub const MAX_PEERS: u32 = 64;
/// Largest single MR.
pub const MAX_MR_BYTES: u64 = 256 << 30;

/// Where peer `p`'s windows are in a guest's physical address space: `[WINDOW_GPA_BASE + p *
/// WINDOW_STRIDE, + WINDOW_STRIDE)`. Above any guest's RAM and devices.
pub const WINDOW_GPA_BASE: u64 = 1 << 40;
/// Window space per peer.
pub const WINDOW_STRIDE: u64 = 256 << 30;
/// Doorbell of peer `p`: a one-byte port write to `DOORBELL_PORT_BASE + p`.
pub const DOORBELL_PORT_BASE: u16 = 0x700;

/// The window range of peer `p`.
pub const fn window_range(peer: u32) -> (u64, u64) {
    let start = WINDOW_GPA_BASE + peer as u64 * WINDOW_STRIDE;
    (start, start + WINDOW_STRIDE)
}

/// The doorbell port of peer `p`.
pub const fn doorbell_port(peer: u32) -> u16 {
    DOORBELL_PORT_BASE + peer as u16
}

/// How a receiver waits for completions.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollMode {
    /// Poll forever: lowest latency, one host core per waiting vCPU.
    Busy = 0,
    /// Poll for a bounded time, then sleep until a doorbell (default).
    Adaptive = 1,
    /// Sleep at once; every message rings the doorbell.
    Interrupt = 2,
}

impl PollMode {
    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> Option<PollMode> {
        match v {
            0 => Some(PollMode::Busy),
            1 => Some(PollMode::Adaptive),
            2 => Some(PollMode::Interrupt),
            _ => None,
        }
    }

    /// Parses a name (`busy`, `adaptive`, `interrupt`).
    pub fn from_name(s: &str) -> Option<PollMode> {
        match s {
            "busy" => Some(PollMode::Busy),
            "adaptive" => Some(PollMode::Adaptive),
            "interrupt" => Some(PollMode::Interrupt),
            _ => None,
        }
    }

    /// The name.
    pub fn name(self) -> &'static str {
        match self {
            PollMode::Busy => "busy",
            PollMode::Adaptive => "adaptive",
            PollMode::Interrupt => "interrupt",
        }
    }
}

/// The device's configuration space (virtio-mmio offset 0x100), written by the VMM.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct DeviceConfig {
    /// [`VERSION`].
    pub version: u32,
    /// This component's id in the fabric.
    pub component_id: u32,
    /// Limits.
    pub max_mrs: u32,
    /// Limits.
    pub max_qps: u32,
    /// Limits.
    pub max_cqs: u32,
    /// Limits.
    pub max_peers: u32,
    /// Guest-physical address of the peer table ([`peers::PeerTable`]) the VMM maintains.
    pub peer_table_gpa: u64,
    /// [`WINDOW_GPA_BASE`].
    pub window_gpa_base: u64,
    /// [`WINDOW_STRIDE`].
    pub window_stride: u64,
    /// [`DOORBELL_PORT_BASE`].
    pub doorbell_port_base: u32,
    /// The interrupt vector a doorbell raises in this guest (on vCPU 0).
    pub irq_vector: u32,
    /// A [`PollMode`] value.
    pub poll_mode: u32,
    /// Adaptive mode: how long to poll before sleeping, in nanoseconds.
    pub spin_ns: u32,
    /// Network model: added one-way latency per message, ns (0: off).
    pub net_latency_ns: u32,
    /// Network model: link bandwidth in Mbit/s (0: unlimited).
    pub net_bandwidth_mbps: u32,
    /// 1 if this guest's TSC reads the host's TSC (offset 0), so timestamps compare across
    /// guests; the network model needs it.
    pub tsc_is_host: u32,
    /// Zero.
    pub _pad: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_do_not_overlap_and_fit_48_bits() {
        let (a0, a1) = window_range(0);
        let (b0, _) = window_range(1);
        assert_eq!(a1, b0);
        assert!(a0 >= WINDOW_GPA_BASE);
        assert!(window_range(MAX_PEERS - 1).1 <= 1 << 46);
    }

    #[test]
    fn poll_modes_round_trip() {
        for m in [PollMode::Busy, PollMode::Adaptive, PollMode::Interrupt] {
            assert_eq!(PollMode::from_u32(m as u32), Some(m));
            assert_eq!(PollMode::from_name(m.name()), Some(m));
        }
        assert_eq!(PollMode::from_u32(9), None);
    }
}
