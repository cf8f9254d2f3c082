//! One RPC connection: the queue pair to a peer, our receive ring for its requests, and the
//! windows onto its ring (for our requests) and its reply slots (for our replies).

use core::sync::atomic::Ordering;

use lego_proto::rpc::{RING_DATA, RING_MR_BYTES, SLOT_BYTES, SLOTS};
use virtio_rdma::abi::control::{CtrlStatus, MrKey};
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

/// A connection being made: our half is registered, the peer's is not known yet.
#[derive(Debug)]
pub struct Pending<E: Env> {
    qp: Qp<E>,
    ring: LocalMr,
    peer_ring: Option<RemoteMrHandle>,
    peer_replies: Option<RemoteMrHandle>,
}

fn found<T>(r: Result<T, FabricError>) -> Result<Option<T>, FabricError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(FabricError::Control(CtrlStatus::NotFound | CtrlStatus::PeerDown)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Withdraws a queue pair and a ring (our MRs). Their memory is not reused: a peer may still
/// write into it through its window until its VMM learns of the revocation.
fn release<E: Env>(qp: Qp<E>, ring: &LocalMr) {
    let _ = qp.env().dereg_mr(ring);
    qp.destroy();
}

impl<E: Env> Pending<E> {
    /// Our half: the queue pair and our ring for `peer`, registered so the peer can find them.
    /// Every component registers its halves before completing any, so components connecting to
    /// each other in any order cannot wait on each other forever.
    pub fn prepare(env: &'static E, peer: u32, cq: u32) -> Result<Pending<E>, FabricError> {
        let qp = Qp::create(env, peer, cq)?;
        let Some((_, p)) = env.alloc(RING_MR_BYTES) else {
            qp.destroy();
            return Err(FabricError::NoMemory);
        };
        let ring = env.reg_mr(
            p,
            RING_MR_BYTES,
            ALL_PERMS,
            tags::for_peer(tags::RPC_RING, peer),
        )?;
        Ok(Pending {
            qp,
            ring,
            peer_ring: None,
            peer_replies: None,
        })
    }

    /// The peer.
    pub fn peer(&self) -> u32 {
        self.qp.peer
    }

    /// Looks for the peer's half once, without waiting: the connection once it is complete,
    /// else itself.
    pub fn try_complete(mut self) -> Result<Result<Conn<E>, Pending<E>>, FabricError> {
        let env = self.qp.env();
        let peer = self.qp.peer;
        if !self.qp.try_connect()? {
            return Ok(Err(self));
        }
        if self.peer_ring.is_none() {
            self.peer_ring =
                found(env.lookup(peer, MrKey::Tag(tags::for_peer(tags::RPC_RING, env.id()))))?;
        }
        if self.peer_replies.is_none() {
            self.peer_replies = found(env.lookup(peer, MrKey::Tag(tags::RPC_REPLY)))?;
        }
        let (Some(peer_ring), Some(peer_replies)) = (self.peer_ring, self.peer_replies) else {
            return Ok(Err(self));
        };
        if peer_ring.mr.len < RING_MR_BYTES || peer_replies.mr.len < u64::from(SLOTS) * SLOT_BYTES {
            return Err(FabricError::BadPeerBlock);
        }
        Ok(Ok(Conn {
            qp: self.qp,
            ring: self.ring,
            peer_ring,
            peer_replies,
            sent: 0,
            consumed: 0,
        }))
    }

    /// Gives up: withdraws our half.
    pub fn abandon(self) {
        release(self.qp, &self.ring);
    }
}

impl<E: Env> Conn<E> {
    /// Closes the connection: our MRs for this peer are withdrawn, so that a new incarnation of
    /// the peer finds only what we register for it next.
    pub fn close(self) {
        release(self.qp, &self.ring);
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
