//! One RPC connection: the queue pair to a peer, our receive ring for its requests, and the
//! windows onto its ring (for our requests) and its reply slots (for our replies).

use core::sync::atomic::Ordering;

use lego_proto::rpc::{RING_DATA, RING_MR_BYTES, SLOT_BYTES, SLOTS};
use virtio_rdma::abi::mr::{ALL_PERMS, tags};

use crate::env::{Env, FabricError};
use crate::mr::{LocalMr, RemoteMrHandle};
use crate::qp::Qp;
use crate::shared::u64_at;

/// A connection.
#[derive(Debug)]
pub struct Conn<E: Env> {
    pub qp: Qp<E>,
    pub ring: LocalMr,
    pub peer_ring: RemoteMrHandle,
    pub peer_replies: RemoteMrHandle,
    /// Bytes we ever wrote into the peer's ring.
    pub sent: u64,
    /// Bytes of our ring we consumed (published in the ring's first word).
    pub consumed: u64,
}

/// Our half of a connection, before the peer's half is known.
pub type Half<E> = (Qp<E>, LocalMr);

impl<E: Env> Conn<E> {
    /// Our half: the queue pair and our ring for `peer`, registered so the peer can find them.
    /// Every component prepares all its connections before waiting for any peer's half, so
    /// components connecting to each other in any order cannot wait on each other forever.
    pub fn prepare(env: &'static E, peer: u32, cq: u32) -> Result<Half<E>, FabricError> {
        let qp = Qp::create(env, peer, cq)?;
        let (_, p) = env.alloc(RING_MR_BYTES).ok_or(FabricError::NoMemory)?;
        let ring = env.reg_mr(
            p,
            RING_MR_BYTES,
            ALL_PERMS,
            tags::for_peer(tags::RPC_RING, peer),
        )?;
        Ok((qp, ring))
    }

    /// Waits for the peer's half and maps it: its queue pair, its ring for us, its reply slots.
    pub fn finish(env: &'static E, half: Half<E>, timeout_ns: u64) -> Result<Conn<E>, FabricError> {
        let (mut qp, ring) = half;
        let peer = qp.peer;
        qp.connect(timeout_ns)?;
        let peer_ring =
            env.lookup_wait(peer, tags::for_peer(tags::RPC_RING, env.id()), timeout_ns)?;
        let peer_replies = env.lookup_wait(peer, tags::RPC_REPLY, timeout_ns)?;
        if peer_ring.mr.len < RING_MR_BYTES || peer_replies.mr.len < u64::from(SLOTS) * SLOT_BYTES {
            return Err(FabricError::BadPeerBlock);
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
        unsafe { u64_at(self.peer_ring.va, 0) }.load(Ordering::Acquire)
    }

    /// Publishes how much of our ring we consumed.
    pub fn publish_consumed(&self) {
        // SAFETY: our ring MR's first word.
        unsafe { u64_at(self.ring.va, 0) }.store(self.consumed, Ordering::Release);
    }

    /// Our ring's data at ring offset `off`.
    pub fn ring_data(&self, off: u64) -> *mut u8 {
        // SAFETY: offsets passed are below RING_BYTES (validated by the caller).
        unsafe { self.ring.va.add((RING_DATA + off) as usize) }
    }
}
