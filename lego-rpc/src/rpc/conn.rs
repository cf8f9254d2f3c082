//! One RPC connection: the queue pair to a peer, our receive ring for its requests, and the
//! windows onto its ring (for our requests) and its reply slots (for our replies).

use core::sync::atomic::Ordering;

use lego_proto::rpc::{RING_DATA, RING_MR_BYTES, SLOT_BYTES, SLOTS};
use virtio_rdma::abi::control::{CtrlStatus, MrKey};
use virtio_rdma::abi::mr::{ALL_PERMS, tags};
use virtio_rdma::abi::peers::PeerState;

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

/// How long the memory of an abandoned half (a connection never completed) waits at least
/// before it is reused: the revocation of its MRs reaches every peer's VMM (through the
/// coordinator) well within it.
pub const RELEASE_GRACE_NS: u64 = 1_000_000_000;

/// The memory of a closed connection (its ring and its queue pair's control block), withdrawn
/// from the fabric but not yet reusable: a peer may write into it until its VMM unmapped it.
///
/// A connected block is bound to one incarnation of the peer (`Qp::try_connect`: a later one
/// waits for a block of its own), and only that incarnation looked up our ring: the memory is
/// reusable as soon as it is gone (its VMM process exited, so nothing maps it any more). An
/// unconnected half may have been found by whichever incarnation was current, or by the next
/// one before we heard of it: it also waits for a grace period, for the revocation to reach
/// that one's VMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Released {
    /// The peer.
    pub peer: u32,
    /// Its incarnation that may still reach the memory.
    pub incarnation: u32,
    /// Not before this time (`Env::now_ns`).
    pub not_before_ns: u64,
    /// `(fabric address, bytes)` ranges from `Env::alloc`.
    pub ranges: [(u64, u64); 2],
}

impl Released {
    /// Whether no peer can reach the memory any more.
    pub fn reusable<E: Env>(&self, env: &E, now_ns: u64) -> bool {
        now_ns >= self.not_before_ns
            && (env.peer_state(self.peer) != PeerState::Up
                || env.peer_incarnation(self.peer) != self.incarnation)
    }
}

/// Withdraws a queue pair and a ring (our MRs). Their memory is handed back as [`Released`]
/// (an unconnected half's after `grace_ns`).
fn release<E: Env>(qp: Qp<E>, ring: &LocalMr, grace_ns: u64) -> Released {
    let env = qp.env();
    let peer = qp.peer;
    let bound = qp.connected_incarnation();
    let incarnation = bound.unwrap_or_else(|| env.peer_incarnation(peer));
    let grace = if bound.is_some() { 0 } else { grace_ns };
    let _ = env.dereg_mr(ring);
    let block = qp.destroy();
    Released {
        peer,
        incarnation,
        not_before_ns: env.now_ns().saturating_add(grace),
        ranges: [block, (ring.pa, ring.len)],
    }
}

/// What looking for the peer's half gave.
#[derive(Debug)]
pub enum Completion<E: Env> {
    /// The connection.
    Done(Conn<E>),
    /// Not yet: the half, to try again.
    Waiting(Pending<E>),
    /// The peer's half is not what it should be (a peer mid-restart): the half, to abandon.
    Failed(Pending<E>),
}

impl<E: Env> Pending<E> {
    /// Our half: the queue pair and our ring for `peer`, registered so the peer can find them.
    /// Every component registers its halves before completing any, so components connecting to
    /// each other in any order cannot wait on each other forever.
    pub fn prepare(env: &'static E, peer: u32, cq: u32) -> Result<Pending<E>, FabricError> {
        let qp = Qp::create(env, peer, cq)?;
        let Some((pa, p)) = env.alloc(RING_MR_BYTES) else {
            qp.destroy();
            return Err(FabricError::NoMemory);
        };
        let ring = match env.reg_mr(
            p,
            RING_MR_BYTES,
            ALL_PERMS,
            tags::for_peer(tags::RPC_RING, peer),
        ) {
            Ok(r) => r,
            Err(e) => {
                // The ring was never visible; the block was, briefly: it is not reused.
                env.free(pa, RING_MR_BYTES);
                qp.destroy();
                return Err(e);
            }
        };
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

    /// Looks for the peer's half once, without waiting.
    pub fn try_complete(mut self) -> Completion<E> {
        match self.look() {
            Ok(true) => {}
            Ok(false) => return Completion::Waiting(self),
            Err(_) => return Completion::Failed(self),
        }
        let (Some(peer_ring), Some(peer_replies)) = (self.peer_ring, self.peer_replies) else {
            return Completion::Waiting(self);
        };
        Completion::Done(Conn {
            qp: self.qp,
            ring: self.ring,
            peer_ring,
            peer_replies,
            sent: 0,
            consumed: 0,
        })
    }

    /// Connects the queue pair and looks up the peer's ring and reply slots: whether all are
    /// there.
    fn look(&mut self) -> Result<bool, FabricError> {
        let env = self.qp.env();
        let peer = self.qp.peer;
        if !self.qp.try_connect()? {
            return Ok(false);
        }
        if self.peer_ring.is_none() {
            self.peer_ring =
                found(env.lookup(peer, MrKey::Tag(tags::for_peer(tags::RPC_RING, env.id()))))?;
        }
        if self.peer_replies.is_none() {
            self.peer_replies = found(env.lookup(peer, MrKey::Tag(tags::RPC_REPLY)))?;
        }
        let (Some(peer_ring), Some(peer_replies)) = (self.peer_ring, self.peer_replies) else {
            return Ok(false);
        };
        if peer_ring.mr.len < RING_MR_BYTES || peer_replies.mr.len < u64::from(SLOTS) * SLOT_BYTES {
            return Err(FabricError::BadPeerBlock);
        }
        Ok(true)
    }

    /// Gives up: withdraws our half.
    pub fn abandon(self, grace_ns: u64) -> Released {
        release(self.qp, &self.ring, grace_ns)
    }
}

impl<E: Env> Conn<E> {
    /// Closes the connection: our MRs for this peer are withdrawn, so that a new incarnation of
    /// the peer finds only what we register for it next.
    pub fn close(self, grace_ns: u64) -> Released {
        release(self.qp, &self.ring, grace_ns)
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
