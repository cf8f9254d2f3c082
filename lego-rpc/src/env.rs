//! What the fabric code needs from where it runs.

use virtio_rdma::abi::PollMode;
use virtio_rdma::abi::control::{CtrlStatus, MrKey};
use virtio_rdma::abi::netmodel::LinkModel;
use virtio_rdma::abi::peers::PeerState;

use crate::mr::{LocalMr, RemoteMrHandle};

/// Why a fabric operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FabricError {
    /// No fabric device here.
    NoDevice,
    /// The device refused a control command.
    Control(CtrlStatus),
    /// Out of memory.
    NoMemory,
    /// Memory that is not ours, or not page aligned.
    BadAddress,
    /// The peer is not up.
    PeerDown,
    /// Waited too long.
    Timeout,
    /// The peer's control block is not what it should be.
    BadPeerBlock,
    /// The environment failed (device transport, mapping): a short reason.
    Env(&'static str),
}

/// The platform under the fabric code: a monitor guest, or the host process of the managers.
///
/// "Fabric addresses" are the addresses peers see: guest-physical addresses in a guest, offsets
/// into the shared memory file on the host. Local memory handed out by [`Env::alloc`] must be
/// contiguous in both the local and the fabric address space.
pub trait Env: Sync + 'static {
    /// This component's id.
    fn id(&self) -> u32;
    /// How receivers wait.
    fn poll_mode(&self) -> PollMode;
    /// Adaptive polling budget, ns.
    fn spin_ns(&self) -> u64;
    /// Adaptive polling budget while a call waits for its reply, ns. A reply is expected, an
    /// idle server's next request is not: where waking from sleep is expensive (a guest woken by
    /// an interrupt), polling longer for a reply is cheaper. Default: `spin_ns`.
    fn reply_spin_ns(&self) -> u64 {
        self.spin_ns()
    }
    /// The network model (off unless configured and clocks are shared).
    fn model(&self) -> LinkModel;
    /// A monotonic clock in ns (the shared clock when the network model is on).
    fn now_ns(&self) -> u64;
    /// A peer's state.
    fn peer_state(&self, peer: u32) -> PeerState;
    /// A peer's incarnation.
    fn peer_incarnation(&self, peer: u32) -> u32;
    /// A peer's MR generation (bumped when it revokes an MR).
    fn peer_mr_generation(&self, peer: u32) -> u32;
    /// Zeroed local memory of `bytes` (a page multiple): `(fabric address, local pointer)`.
    fn alloc(&self, bytes: u64) -> Option<(u64, *mut u8)>;
    /// Gives back `[addr, addr + bytes)`, which [`Env::alloc`] handed out, for reuse. The
    /// caller guarantees that nothing, here or at any peer, reaches it any more. The default
    /// keeps it (never reused).
    fn free(&self, addr: u64, bytes: u64) {
        let _ = (addr, bytes);
    }
    /// The local pointer of fabric address range `[addr, addr + len)`, if it is ours.
    fn local(&self, addr: u64, len: u64) -> Option<*mut u8>;
    /// The fabric address of a local pointer into our memory.
    fn fabric_addr(&self, p: *const u8) -> Option<u64>;
    /// Registers `[p, p + len)` with `perms` under `tag`.
    fn reg_mr(&self, p: *mut u8, len: u64, perms: u32, tag: u32) -> Result<LocalMr, FabricError>;
    /// Withdraws one of our MRs: peers lose access.
    fn dereg_mr(&self, mr: &LocalMr) -> Result<(), FabricError>;
    /// Finds a peer's MR and maps it here.
    fn lookup(&self, peer: u32, key: MrKey) -> Result<RemoteMrHandle, FabricError>;
    /// The caller no longer holds any handle onto `peer` that [`Env::handle_valid`] refuses
    /// (it closed its connection to it): what the environment kept so that such stale handles
    /// stay harmless (the host keeps a placeholder where a dead peer's memory was mapped) can
    /// go. Default: nothing to do (a guest's windows are memslots its VMM removes).
    fn forget_stale_handles(&self, peer: u32) {
        let _ = peer;
    }
    /// Creates a completion queue.
    fn create_cq(&self, depth: u32) -> Result<u32, FabricError>;
    /// Creates a queue pair to `peer` whose control block is at fabric address `qpcb`.
    fn create_qp(&self, peer: u32, cq: u32, qpcb: u64) -> Result<u32, FabricError>;
    /// Destroys a queue pair.
    fn destroy_qp(&self, qpn: u32) -> Result<(), FabricError>;
    /// Rings `peer`'s doorbell.
    fn ring_doorbell(&self, peer: u32);
    /// Sleeps until a doorbell, a fabric event, or `deadline_ns`.
    fn sleep_until(&self, deadline_ns: u64);
    /// A spin-wait hint.
    fn relax(&self) {
        core::hint::spin_loop();
    }

    /// Whether a handle still names a live MR of a live peer (same incarnation, no revocation).
    fn handle_valid(&self, h: &RemoteMrHandle) -> bool {
        self.peer_state(h.mr.peer) == PeerState::Up
            && self.peer_incarnation(h.mr.peer) == h.incarnation
            && self.peer_mr_generation(h.mr.peer) == h.mr_generation
    }

    /// Waits until `peer` is up.
    fn wait_peer_up(&self, peer: u32, timeout_ns: u64) -> Result<(), FabricError> {
        let give_up = self.now_ns().saturating_add(timeout_ns);
        loop {
            if self.peer_state(peer) == PeerState::Up {
                return Ok(());
            }
            let now = self.now_ns();
            if now > give_up {
                return Err(FabricError::Timeout);
            }
            self.sleep_until(now + 1_000_000);
        }
    }

    /// [`Env::lookup`] by tag, retrying until the peer registered it.
    fn lookup_wait(
        &self,
        peer: u32,
        tag: u32,
        timeout_ns: u64,
    ) -> Result<RemoteMrHandle, FabricError> {
        let give_up = self.now_ns().saturating_add(timeout_ns);
        loop {
            match self.lookup(peer, MrKey::Tag(tag)) {
                Err(FabricError::Control(CtrlStatus::NotFound | CtrlStatus::PeerDown))
                    if self.now_ns() < give_up =>
                {
                    let now = self.now_ns();
                    self.sleep_until(now + 200_000);
                }
                other => return other,
            }
        }
    }
}
