//! One RPC connection: the queue pair to a peer, our receive ring for its requests, and the
//! windows onto its ring (for our requests) and its reply slots (for our replies).

use core::sync::atomic::Ordering;

use lego_proto::rpc::{RING_DATA, RING_MR_BYTES, SLOT_BYTES, SLOTS};
use virtio_rdma::abi::mr::{ALL_PERMS, tags};

use crate::mm::{alloc_zeroed, phys_to_virt};
use crate::rdma::{Device, LocalMr, Qp, RdmaError, RemoteMrHandle};

/// A connection.
#[derive(Debug)]
pub struct Conn {
    pub qp: Qp,
    pub ring: LocalMr,
    pub peer_ring: RemoteMrHandle,
    pub peer_replies: RemoteMrHandle,
    /// Bytes we ever wrote into the peer's ring.
    pub sent: u64,
    /// Bytes of our ring we consumed (published in the ring's first word).
    pub consumed: u64,
}

impl Conn {
    /// Our half: the queue pair and our ring for `peer`, registered so the peer can find them.
    /// Every component prepares all its connections before waiting for any peer's half, so
    /// components connecting to each other in any order cannot wait on each other forever.
    pub fn prepare(dev: &'static Device, peer: u32, cq: u32) -> Result<(Qp, LocalMr), RdmaError> {
        let qp = Qp::create(dev, peer, cq)?;
        let pa = alloc_zeroed(RING_MR_BYTES / 4096).ok_or(RdmaError::NoMemory)?;
        let ring = dev.reg_mr(
            phys_to_virt(pa),
            RING_MR_BYTES,
            ALL_PERMS,
            tags::for_peer(tags::RPC_RING, peer),
        )?;
        Ok((qp, ring))
    }

    /// Waits for the peer's half and maps it: its queue pair, its ring for us, its reply slots.
    pub fn finish(
        dev: &'static Device,
        half: (Qp, LocalMr),
        timeout_ns: u64,
    ) -> Result<Conn, RdmaError> {
        let (mut qp, ring) = half;
        let peer = qp.peer;
        qp.connect(timeout_ns)?;
        let peer_ring =
            dev.lookup_wait(peer, tags::for_peer(tags::RPC_RING, dev.id()), timeout_ns)?;
        let peer_replies = dev.lookup_wait(peer, tags::RPC_REPLY, timeout_ns)?;
        if peer_ring.mr.len < RING_MR_BYTES || peer_replies.mr.len < u64::from(SLOTS) * SLOT_BYTES {
            return Err(RdmaError::BadPeerBlock);
        }
        Ok(Conn {
            qp,
            ring,
            peer_ring,
            peer_replies,
            sent: 0,
            consumed: 0,
        })
    }

    /// How much of its ring the peer has consumed (it publishes it in the ring's first word).
    pub fn peer_consumed(&self) -> u64 {
        // SAFETY: the window maps the peer's ring MR, whose first word is the counter.
        unsafe { crate::rdma::shared_u64(self.peer_ring.va, 0) }.load(Ordering::Acquire)
    }

    /// Publishes how much of our ring we consumed.
    pub fn publish_consumed(&self) {
        // SAFETY: our ring MR's first word.
        unsafe { crate::rdma::shared_u64(self.ring.va, 0) }.store(self.consumed, Ordering::Release);
    }

    /// Our ring's data at ring offset `off`.
    pub fn ring_data(&self, off: u64) -> *mut u8 {
        // SAFETY: offsets passed are below RING_BYTES (validated by the caller).
        unsafe { self.ring.va.add((RING_DATA + off) as usize) }
    }
}
