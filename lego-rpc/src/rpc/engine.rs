//! The RPC engine: connections, reply slots, handlers, calls with deadlines, the dispatcher.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use lego_proto::op;
use lego_proto::rpc::{
    self, IMM_REPLY, MAX_PAYLOAD, RING_BYTES, ReplyHeader, RequestHeader, SLOT_BYTES, SLOTS,
};
use virtio_rdma::abi::MAX_PEERS;
use virtio_rdma::abi::cqe::{Cqe, WcOpcode, WcStatus};
use virtio_rdma::abi::mr::{ALL_PERMS, tags};
use virtio_rdma::abi::wr::{RawWr, Sge, WrOpcode};
use zerocopy::{FromBytes, IntoBytes};

use super::conn::{Completion, Conn, Pending, Released};
use super::idle::Idle;
use crate::env::{Env, FabricError};
use crate::mr::LocalMr;
use crate::qp::Qp;

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpcError {
    /// Not connected to that peer.
    NotConnected,
    /// The peer failed (its component died): outstanding and new calls end with this.
    PeerDead,
    /// No reply before the deadline.
    Timeout,
    /// Request or reply larger than `MAX_PAYLOAD`.
    TooLarge,
    /// The server answered with this status (`lego_proto::rpc::status`).
    Remote(u32),
    /// The fabric refused an operation.
    Fabric(FabricError),
    /// The request buffer is not in memory the fabric can reach.
    BadBuffer,
    /// Writing the request or reply failed with this completion status.
    Transfer(WcStatus),
}

/// A call in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    slot: u32,
    seq: u32,
    peer: u32,
    deadline: u64,
}

/// Counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct RpcStats {
    /// Calls made.
    pub calls: u64,
    /// Requests served.
    pub served: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Calls that failed because the peer died.
    pub peer_failures: u64,
    /// Malformed requests dropped.
    pub bad_requests: u64,
    /// Times the CPU slept waiting.
    pub sleeps: u64,
    /// Nanoseconds requests spent here, from their handler's start to the reply (deferred
    /// ones included): with `served`, the time this component adds to its callers' calls.
    pub serve_ns: u64,
    /// Nanoseconds calls took, from the request's post to the reply's arrival (calls given up
    /// are not counted).
    pub call_ns: u64,
}

/// What a handler sees.
#[derive(Debug)]
pub struct HandlerCtx<'a, E: Env> {
    /// The calling component.
    pub peer: u32,
    /// The operation.
    pub opcode: u32,
    /// The queue pair to the caller (for handlers that also move data, e.g. a SEND back).
    pub qp: &'a mut Qp<E>,
}

/// What a handler returns to answer later with [`Rpc::reply`]: the request is queued for
/// [`Rpc::take_deferred`]. For handlers that must make calls of their own (a buffer cache going
/// to storage on a miss), which they cannot do from inside the dispatcher.
pub const DEFER: u32 = u32::MAX;

/// A request a handler deferred.
#[derive(Debug)]
pub struct Deferred {
    /// The calling component.
    pub peer: u32,
    /// The operation.
    pub opcode: u32,
    /// The request's payload.
    pub req: Vec<u8>,
    slot: u32,
    seq: u32,
    /// When its handler started (`Env::now_ns`).
    received_ns: u64,
    /// The connection it came on (a reply after the caller restarted must not reach its new
    /// incarnation).
    epoch: u64,
}

/// A request handler: fills `reply`, returns its length or an error status.
pub type Handler<E> =
    Box<dyn FnMut(&mut HandlerCtx<'_, E>, &[u8], &mut [u8]) -> Result<usize, u32> + Send>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    Free,
    Waiting,
    Done {
        status: u32,
        len: u32,
    },
    /// Gave up (timeout); a late reply must be ignored, then the slot is free again.
    Abandoned,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    state: SlotState,
    seq: u32,
    /// Whom the call went to.
    peer: u32,
    /// When the request was posted (`Env::now_ns`).
    posted_ns: u64,
}

/// Builds a heartbeat's payload from the engine's counters; returns its length.
pub type BeatBuilder = Box<dyn FnMut(&RpcStats, &mut [u8]) -> usize + Send>;

/// A message the engine sends by itself every `interval_ns`, even while a call waits: a
/// monitor's load report, which is also its heartbeat, must not stop because the monitor is
/// waiting on a slow peer.
struct Heartbeat {
    peer: u32,
    opcode: u32,
    interval_ns: u64,
    next_ns: u64,
    build: BeatBuilder,
    /// Where the payload is built: `(fabric address, pointer)`, one page.
    buf: (u64, *mut u8),
}

/// The engine.
pub struct Rpc<E: Env> {
    env: &'static E,
    cq: u32,
    conns: Vec<Option<Conn<E>>>,
    pending: Vec<Pending<E>>,
    last_progress: u64,
    replies: LocalMr,
    slots: Vec<Slot>,
    next_seq: u32,
    handlers: Vec<Option<Handler<E>>>,
    /// Request headers are built here (for scatter/gather): `(fabric address, pointer)`.
    header: (u64, *mut u8),
    /// Replies are built here: 32-byte header then the payload.
    reply: (u64, *mut u8),
    idle: Idle,
    heartbeat: Option<Heartbeat>,
    /// A heartbeat is being sent (its own polling must not send another).
    beating: bool,
    recvs: VecDeque<Cqe>,
    deferred: VecDeque<Deferred>,
    /// Per peer: bumped whenever its connection is made or closed.
    epochs: Vec<u64>,
    /// Memory of closed connections, until no peer can write into it.
    released: Vec<Released>,
    /// When `released` is next looked at.
    reclaim_at_ns: u64,
    /// Default deadline of a call, ns.
    pub timeout_ns: u64,
    /// The least time the memory of an abandoned half waits before it is reused, ns (see
    /// `conn::Released`).
    pub release_grace_ns: u64,
    stats: RpcStats,
}

// SAFETY: the raw pointers are into memory this engine owns (allocated from the environment for
// its lifetime); the engine is used by one thread at a time.
unsafe impl<E: Env> Send for Rpc<E> {}

impl<E: Env> core::fmt::Debug for Rpc<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Rpc").field("stats", &self.stats).finish()
    }
}

const CQES: usize = 32;

fn peer_error(s: WcStatus) -> RpcError {
    match s {
        WcStatus::RetryExceeded => RpcError::PeerDead,
        other => RpcError::Transfer(other),
    }
}

impl<E: Env> Rpc<E> {
    /// Sets up our reply slots (tag `RPC_REPLY`) and a completion queue.
    pub fn new(env: &'static E) -> Result<Rpc<E>, FabricError> {
        let bytes = u64::from(SLOTS) * SLOT_BYTES;
        let (_, p) = env.alloc(bytes).ok_or(FabricError::NoMemory)?;
        let replies = env.reg_mr(p, bytes, ALL_PERMS, tags::RPC_REPLY)?;
        let cq = env.create_cq(256)?;
        let header = env.alloc(4096).ok_or(FabricError::NoMemory)?;
        let reply = env
            .alloc(MAX_PAYLOAD as u64 + 4096)
            .ok_or(FabricError::NoMemory)?;
        Ok(Rpc {
            env,
            cq,
            conns: (0..MAX_PEERS).map(|_| None).collect(),
            pending: Vec::new(),
            last_progress: 0,
            replies,
            slots: vec![
                Slot {
                    state: SlotState::Free,
                    seq: 0,
                    peer: 0,
                    posted_ns: 0,
                };
                SLOTS as usize
            ],
            next_seq: 1,
            handlers: (0..=op::MAX).map(|_| None).collect(),
            header,
            reply,
            idle: Idle::new(env.poll_mode(), env.spin_ns(), env.now_ns()),
            heartbeat: None,
            beating: false,
            recvs: VecDeque::new(),
            deferred: VecDeque::new(),
            epochs: vec![0; MAX_PEERS as usize],
            released: Vec::new(),
            reclaim_at_ns: 0,
            timeout_ns: 5_000_000_000,
            release_grace_ns: super::conn::RELEASE_GRACE_NS,
            stats: RpcStats::default(),
        })
    }

    /// Registers the handler of `opcode`.
    pub fn handle(
        &mut self,
        opcode: u32,
        h: impl FnMut(&mut HandlerCtx<'_, E>, &[u8], &mut [u8]) -> Result<usize, u32> + Send + 'static,
    ) {
        if let Some(slot) = self.handlers.get_mut(opcode as usize) {
            *slot = Some(Box::new(h));
        }
    }

    /// Starts connecting to every peer in `peers` (each must connect back to us): our halves
    /// are registered now, the connections complete in [`Rpc::progress`] as the peers' halves
    /// appear.
    pub fn connect_async(&mut self, peers: &[u32]) -> Result<(), (u32, FabricError)> {
        for &p in peers {
            if p as usize >= self.conns.len()
                || p == self.env.id()
                || self.connected(p)
                || self.pending.iter().any(|h| h.peer() == p)
            {
                continue;
            }
            self.pending
                .push(Pending::prepare(self.env, p, self.cq).map_err(|e| (p, e))?);
        }
        Ok(())
    }

    /// Tries to complete pending connections (at most every 2 ms: each look-up may be a trip to
    /// the VMM), and reuses the memory of closed connections that no peer can reach any more.
    /// Returns the peers newly connected.
    pub fn progress(&mut self) -> Vec<u32> {
        let mut done = Vec::new();
        let now = self.env.now_ns();
        if !self.released.is_empty() && now >= self.reclaim_at_ns {
            self.reclaim(now);
        }
        if self.pending.is_empty() || now.saturating_sub(self.last_progress) < 2_000_000 {
            return done;
        }
        self.last_progress = now;
        for half in core::mem::take(&mut self.pending) {
            let peer = half.peer();
            match half.try_complete() {
                Completion::Done(c) => {
                    self.conns[peer as usize] = Some(c);
                    self.epochs[peer as usize] += 1;
                    done.push(peer);
                }
                Completion::Waiting(h) => self.pending.push(h),
                // The peer's block is not what it should be (a peer mid-restart): start over.
                Completion::Failed(h) => {
                    self.released.push(h.abandon(self.release_grace_ns));
                    if let Ok(h) = Pending::prepare(self.env, peer, self.cq) {
                        self.pending.push(h);
                    }
                }
            }
        }
        done
    }

    /// Frees the memory of closed connections whose peer incarnation is gone.
    fn reclaim(&mut self, now: u64) {
        let env = self.env;
        self.released.retain(|r| {
            if !r.reusable(env, now) {
                return true;
            }
            for &(addr, bytes) in &r.ranges {
                env.free(addr, bytes);
            }
            false
        });
        // Look again in a while (a peer's death is a rare event).
        self.reclaim_at_ns = now.saturating_add(10_000_000);
    }

    /// Closed connections whose memory is not reusable yet (for tests and diagnostics).
    pub fn released_pending(&self) -> usize {
        self.released.len()
    }

    /// Peers we are still connecting to.
    pub fn pending_peers(&self) -> Vec<u32> {
        self.pending.iter().map(Pending::peer).collect()
    }

    /// Connects to every peer in `peers`, waiting up to `timeout_ns` for all of them.
    pub fn connect_all(
        &mut self,
        peers: &[u32],
        timeout_ns: u64,
    ) -> Result<(), (u32, FabricError)> {
        self.connect_async(peers)?;
        let give_up = self.env.now_ns().saturating_add(timeout_ns);
        loop {
            self.last_progress = 0;
            self.progress();
            let waiting = peers
                .iter()
                .copied()
                .find(|&p| self.pending.iter().any(|h| h.peer() == p));
            let Some(p) = waiting else { return Ok(()) };
            let now = self.env.now_ns();
            if now > give_up {
                return Err((p, FabricError::Timeout));
            }
            self.env.sleep_until(now + 1_000_000);
        }
    }

    /// Closes the connection to `peer` (after it failed, before reconnecting to a restarted
    /// incarnation). Calls waiting on it fail. Its memory is reused once the peer incarnation
    /// that could write into it is gone.
    pub fn disconnect(&mut self, peer: u32) {
        if let Some(c) = self.conns.get_mut(peer as usize).and_then(Option::take) {
            self.released.push(c.close(self.release_grace_ns));
            self.epochs[peer as usize] += 1;
        }
        // Replies that were given up on will never come now.
        for s in &mut self.slots {
            if s.peer == peer && s.state == SlotState::Abandoned {
                s.state = SlotState::Free;
            }
        }
        let (gone, keep): (Vec<_>, Vec<_>) = core::mem::take(&mut self.pending)
            .into_iter()
            .partition(|h| h.peer() == peer);
        self.pending = keep;
        for h in gone {
            self.released.push(h.abandon(self.release_grace_ns));
        }
        // We hold no handle onto the peer now.
        self.env.forget_stale_handles(peer);
    }

    /// Whether we hold a connection to `peer`.
    pub fn connected(&self, peer: u32) -> bool {
        self.conns.get(peer as usize).is_some_and(Option::is_some)
    }

    /// The peers we hold a connection to whose component failed.
    pub fn failed_peers(&self) -> Vec<u32> {
        self.conns
            .iter()
            .flatten()
            .filter(|c| c.qp.failed())
            .map(|c| c.qp.peer)
            .collect()
    }

    /// The queue pair to `peer`, for one-sided operations alongside the RPCs.
    pub fn qp_mut(&mut self, peer: u32) -> Option<&mut Qp<E>> {
        self.conns
            .get_mut(peer as usize)
            .and_then(Option::as_mut)
            .map(|c| &mut c.qp)
    }

    /// Takes the receive completions (SENDs into buffers we posted) collected while polling.
    pub fn take_recvs(&mut self) -> Vec<Cqe> {
        self.recvs.drain(..).collect()
    }

    /// The oldest request a handler deferred with [`DEFER`].
    pub fn take_deferred(&mut self) -> Option<Deferred> {
        self.deferred.pop_front()
    }

    /// Whether deferred requests wait for [`Rpc::reply`].
    pub fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Answers a deferred request: `Ok(payload)` or an error status. Dropped if the caller's
    /// connection is gone or was remade since (the caller timed out or restarted).
    pub fn reply(&mut self, d: Deferred, result: Result<&[u8], u32>) {
        if self.epochs.get(d.peer as usize) != Some(&d.epoch) {
            return;
        }
        let (status, payload) = match result {
            Ok(p) if p.len() <= MAX_PAYLOAD => (rpc::status::OK, p),
            Ok(_) => (rpc::status::FAILED, &[][..]),
            Err(DEFER) => (rpc::status::FAILED, &[][..]),
            Err(s) => (s, &[][..]),
        };
        let (_, reply_ptr) = self.reply;
        // SAFETY: the reply buffer is ours, MAX_PAYLOAD + 4096 bytes; the payload goes after
        // the 32-byte header and is at most MAX_PAYLOAD bytes (checked above).
        unsafe {
            core::ptr::copy_nonoverlapping(payload.as_ptr(), reply_ptr.add(32), payload.len())
        };
        self.send_reply(d.peer, d.slot, d.seq, status, payload.len(), d.received_ns);
    }

    /// The environment.
    pub fn env(&self) -> &'static E {
        self.env
    }

    /// Counters.
    pub fn stats(&self) -> RpcStats {
        RpcStats {
            sleeps: self.idle.sleeps,
            ..self.stats
        }
    }

    fn conn(&mut self, peer: u32) -> Result<&mut Conn<E>, RpcError> {
        self.conns
            .get_mut(peer as usize)
            .and_then(Option::as_mut)
            .ok_or(RpcError::NotConnected)
    }

    /// Starts a call; the reply is collected with [`Rpc::wait`].
    pub fn call_async(&mut self, peer: u32, opcode: u32, req: &[u8]) -> Result<Ticket, RpcError> {
        self.start_call(peer, opcode, req, true)
    }

    /// Sets the heartbeat: every `interval_ns`, `build` fills a message of `opcode` for `peer`,
    /// which is sent without waiting for its reply (the first as soon as `peer` is connected).
    pub fn set_heartbeat(
        &mut self,
        peer: u32,
        opcode: u32,
        interval_ns: u64,
        build: BeatBuilder,
    ) -> Result<(), FabricError> {
        let buf = self.env.alloc(4096).ok_or(FabricError::NoMemory)?;
        self.heartbeat = Some(Heartbeat {
            peer,
            opcode,
            interval_ns,
            next_ns: 0,
            build,
            buf,
        });
        Ok(())
    }

    /// When the heartbeat is next due (`u64::MAX` without one).
    pub fn next_beat_ns(&self) -> u64 {
        self.heartbeat.as_ref().map_or(u64::MAX, |h| h.next_ns)
    }

    /// Sends the heartbeat if it is due (polling does this too).
    pub fn poll_heartbeat(&mut self) {
        self.beat();
    }

    /// Sends the heartbeat if it is due.
    fn beat(&mut self) {
        let now = self.env.now_ns();
        let Some(hb) = self.heartbeat.as_ref() else {
            return;
        };
        if self.beating || now < hb.next_ns {
            return;
        }
        let (peer, opcode) = (hb.peer, hb.opcode);
        let connected = self.connected(peer);
        let stats = self.stats();
        let Some(hb) = self.heartbeat.as_mut() else {
            return;
        };
        if !connected {
            // Look again soon: the first beat is what tells the managers we are up.
            hb.next_ns = now + 1_000_000;
            return;
        }
        hb.next_ns = now + hb.interval_ns;
        // SAFETY: the heartbeat's page is ours, 4096 bytes, and nothing else refers to it.
        let page = unsafe { core::slice::from_raw_parts_mut(hb.buf.1, 4096) };
        let n = (hb.build)(&stats, page).min(4096);
        self.beating = true;
        // Fire and forget: a full ring or no free slot just skips this beat.
        if let Ok(t) = self.start_call(peer, opcode, &page[..n], false) {
            self.slots[t.slot as usize].state = SlotState::Abandoned;
        }
        self.beating = false;
    }

    /// Starts a call; with `block` false, fails with `Timeout` rather than wait for a free slot
    /// or room in the peer's ring.
    fn start_call(
        &mut self,
        peer: u32,
        opcode: u32,
        req: &[u8],
        block: bool,
    ) -> Result<Ticket, RpcError> {
        if req.len() > MAX_PAYLOAD {
            return Err(RpcError::TooLarge);
        }
        let req_addr = if req.is_empty() {
            self.header.0
        } else {
            self.env
                .fabric_addr(req.as_ptr())
                .ok_or(RpcError::BadBuffer)?
        };
        let deadline = self.env.now_ns().saturating_add(self.timeout_ns);
        let slot = loop {
            if let Some(s) = self.slots.iter().position(|s| s.state == SlotState::Free) {
                break s as u32;
            }
            if !block {
                return Err(RpcError::Timeout);
            }
            self.wait_step(deadline)?;
        };
        let footprint = rpc::ring_footprint(req.len());
        let at = loop {
            let c = self.conn(peer)?;
            if c.qp.failed() {
                return Err(RpcError::PeerDead);
            }
            let at = rpc::place(c.sent, footprint);
            if at + footprint - c.peer_consumed() <= RING_BYTES {
                break at;
            }
            if !block {
                return Err(RpcError::Timeout);
            }
            self.wait_step(deadline)?;
        };
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        let h = RequestHeader {
            magic: rpc::REQUEST_MAGIC,
            opcode,
            len: req.len() as u32,
            slot,
            seq,
            src: self.env.id(),
            _pad: [0; 2],
        };
        let (header_addr, header_ptr) = self.header;
        // SAFETY: the header page is ours.
        unsafe { core::ptr::copy_nonoverlapping(h.as_bytes().as_ptr(), header_ptr, 32) };
        let env = self.env;
        let c = self.conn(peer)?;
        let mut wr = RawWr {
            opcode: WrOpcode::WriteImm as u32,
            wr_id: u64::from(seq),
            imm: (at & 0x7fff_ffff) as u32,
            num_sge: if req.is_empty() { 1 } else { 2 },
            remote_addr: c.peer_ring.addr(rpc::RING_DATA + at % RING_BYTES),
            rkey: c.peer_ring.mr.rkey,
            ..Default::default()
        };
        wr.sge[0] = Sge {
            addr: header_addr,
            len: 32,
            _pad: 0,
        };
        wr.sge[1] = Sge {
            addr: req_addr,
            len: req.len() as u32,
            _pad: 0,
        };
        let target = c.peer_ring;
        // Before the post, which rings a sleeping callee's doorbell (an exit on PVM): waking
        // the callee is part of the call, not of the caller's own work.
        let posted_ns = env.now_ns();
        c.qp.post_send(&wr, Some(&target)).map_err(peer_error)?;
        c.sent = at + footprint;
        self.slots[slot as usize] = Slot {
            state: SlotState::Waiting,
            seq,
            peer,
            posted_ns,
        };
        self.stats.calls += 1;
        Ok(Ticket {
            slot,
            seq,
            peer,
            deadline,
        })
    }

    /// Waits for a call's reply, copying its payload into `out`; returns its length.
    pub fn wait(&mut self, t: Ticket, out: &mut [u8]) -> Result<usize, RpcError> {
        loop {
            if let Some(r) = self.try_wait(t, out) {
                return r;
            }
            if let Err(e) = self
                .wait_step(t.deadline)
                .and_then(|()| self.check_peer(t.peer))
            {
                return Err(self.give_up(t, e));
            }
        }
    }

    /// A call's reply if it came (copied into `out`), its failure if its peer died or its
    /// deadline passed, or `None` while it is still on its way: for callers that keep several
    /// calls in flight and poll the engine themselves.
    pub fn try_wait(&mut self, t: Ticket, out: &mut [u8]) -> Option<Result<usize, RpcError>> {
        let s = self.slots[t.slot as usize];
        if s.seq != t.seq {
            return Some(Err(RpcError::Timeout));
        }
        if let SlotState::Done { status, len } = s.state {
            self.slots[t.slot as usize].state = SlotState::Free;
            if status != rpc::status::OK {
                return Some(Err(RpcError::Remote(status)));
            }
            let len = len as usize;
            if len > out.len() || len > MAX_PAYLOAD {
                return Some(Err(RpcError::TooLarge));
            }
            let src = self.replies.va;
            // SAFETY: slot payloads are inside our reply MR; `len <= MAX_PAYLOAD`.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    src.add((u64::from(t.slot) * SLOT_BYTES + 4096) as usize),
                    out.as_mut_ptr(),
                    len,
                )
            };
            return Some(Ok(len));
        }
        let failed = if self.env.now_ns() > t.deadline {
            Err(RpcError::Timeout)
        } else {
            self.check_peer(t.peer)
        };
        failed.err().map(|e| Err(self.give_up(t, e)))
    }

    /// Abandons a call that failed with `e` (its reply, if it comes, frees the slot).
    fn give_up(&mut self, t: Ticket, e: RpcError) -> RpcError {
        self.slots[t.slot as usize].state = SlotState::Abandoned;
        match e {
            RpcError::Timeout => self.stats.timeouts += 1,
            RpcError::PeerDead => self.stats.peer_failures += 1,
            _ => {}
        }
        e
    }

    fn check_peer(&mut self, peer: u32) -> Result<(), RpcError> {
        match self.conn(peer) {
            Ok(c) if c.qp.failed() => Err(RpcError::PeerDead),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A whole call.
    pub fn call(
        &mut self,
        peer: u32,
        opcode: u32,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RpcError> {
        let t = self.call_async(peer, opcode, req)?;
        self.wait(t, out)
    }

    /// One step of waiting: poll, and if nothing happened, idle per the polling mode.
    fn wait_step(&mut self, deadline: u64) -> Result<(), RpcError> {
        if self.poll() > 0 {
            return Ok(());
        }
        let now = self.env.now_ns();
        if now > deadline {
            return Err(RpcError::Timeout);
        }
        self.idle_for(now, deadline, self.env.reply_spin_ns());
        Ok(())
    }

    /// Idles until something may have happened, or `deadline_ns`.
    pub fn idle_until(&mut self, deadline_ns: u64) {
        // One clock read per idle step: it is the busy-polling loop's pace.
        let now = self.env.now_ns();
        let spin = self.idle.idle_spin_ns(now);
        self.idle_for(now, deadline_ns, spin);
    }

    /// Idles, polling for up to `spin_ns` after the last event before sleeping (adaptive).
    fn idle_for(&mut self, now_ns: u64, deadline_ns: u64, spin_ns: u64) {
        if !self.idle.should_sleep(now_ns, spin_ns) {
            self.idle.spin(self.env);
            return;
        }
        for c in self.conns.iter().flatten() {
            c.qp.set_sleeping(true);
        }
        let busy = self.conns.iter().flatten().any(|c| c.qp.has_work());
        if !busy {
            // A peer that fails, joins or revokes an MR wakes us (its VMM kicks ours) and calls
            // carry their deadlines, so the cap is a safety net: 10 ms while connections are
            // pending or calls outstanding, where a missed kick would cost most, else 100 ms
            // (an idle monitor on PVM pays ~50-100 µs per wake-up).
            let quiet = self.pending.is_empty()
                && self
                    .slots
                    .iter()
                    .all(|s| !matches!(s.state, SlotState::Waiting));
            let cap = self.env.now_ns() + if quiet { 100_000_000 } else { 10_000_000 };
            self.idle.sleep(self.env, deadline_ns.min(cap));
        }
        for c in self.conns.iter().flatten() {
            c.qp.set_sleeping(false);
        }
    }

    /// Serves requests forever (a monitor's main loop).
    pub fn serve_forever(&mut self) -> ! {
        loop {
            if self.poll() == 0 {
                self.idle_until(u64::MAX);
            }
        }
    }

    /// Polls every connection once: serves requests, collects replies, advances pending
    /// connections. Returns events handled.
    pub fn poll(&mut self) -> usize {
        self.beat();
        if !self.progress().is_empty() {
            let now = self.env.now_ns();
            self.idle.event(now, now);
        }
        let mut cqes = [Cqe::default(); CQES];
        let mut events = 0;
        // When the first event was seen, before handling it (only adaptive idling scores idle
        // gaps; a clock read per poll costs busy polling ~0.4 µs per round trip on PVM).
        let mut seen = None;
        for peer in 0..self.conns.len() {
            let n = match self.conns[peer].as_mut() {
                Some(c) => c.qp.poll(&mut cqes),
                None => continue,
            };
            if n > 0 && seen.is_none() && self.idle.scores_gaps() {
                seen = Some(self.env.now_ns());
            }
            for cqe in &cqes[..n] {
                if cqe.ok() && cqe.opcode == WcOpcode::Recv as u32 {
                    // A SEND into a buffer someone posted: theirs to collect.
                    self.recvs.push_back(*cqe);
                    events += 1;
                    continue;
                }
                if !cqe.ok() || cqe.opcode != WcOpcode::RecvRdmaWithImm as u32 {
                    continue;
                }
                events += 1;
                if cqe.imm & IMM_REPLY != 0 {
                    self.on_reply(cqe.imm & !IMM_REPLY);
                } else {
                    self.on_request(peer as u32, cqe.imm);
                }
            }
        }
        if events > 0 {
            let now = self.env.now_ns();
            self.idle.event(seen.unwrap_or(now), now);
        }
        events
    }

    fn on_reply(&mut self, slot: u32) {
        let Some(s) = self.slots.get(slot as usize).copied() else {
            return;
        };
        let mut bytes = [0u8; 32];
        // SAFETY: slot headers are inside our reply MR.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.replies.va.add((u64::from(slot) * SLOT_BYTES) as usize),
                bytes.as_mut_ptr(),
                32,
            )
        };
        let Ok(h) = ReplyHeader::read_from_bytes(&bytes) else {
            return;
        };
        if h.magic != rpc::REPLY_MAGIC || h.seq != s.seq {
            return;
        }
        match s.state {
            SlotState::Waiting => {
                self.slots[slot as usize].state = SlotState::Done {
                    status: h.status,
                    len: h.len,
                };
                self.stats.call_ns += self.env.now_ns().saturating_sub(s.posted_ns);
            }
            SlotState::Abandoned => self.slots[slot as usize].state = SlotState::Free,
            _ => {}
        }
    }

    fn on_request(&mut self, peer: u32, imm: u32) {
        let Some(c) = self.conns[peer as usize].as_mut() else {
            return;
        };
        let at = rpc::widen(imm, c.consumed);
        let off = at % RING_BYTES;
        let mut bytes = [0u8; 32];
        // SAFETY: `off < RING_BYTES`; the header lies inside our ring.
        unsafe { core::ptr::copy_nonoverlapping(c.ring_data(off), bytes.as_mut_ptr(), 32) };
        let Ok(h) = RequestHeader::read_from_bytes(&bytes) else {
            return;
        };
        if h.validate(off).is_err() || at < c.consumed {
            // A confused peer: drop the request and carry on.
            self.stats.bad_requests += 1;
            return;
        }
        // SAFETY: validated: the payload lies inside our ring.
        let req = unsafe { core::slice::from_raw_parts(c.ring_data(off + 32), h.len as usize) };
        let (_, reply_ptr) = self.reply;
        // SAFETY: the reply buffer is ours, MAX_PAYLOAD + 4096 bytes; the payload starts after
        // the 32-byte header.
        let reply = unsafe { core::slice::from_raw_parts_mut(reply_ptr.add(32), MAX_PAYLOAD) };
        let received_ns = self.env.now_ns();
        let result = match self
            .handlers
            .get_mut(h.opcode as usize)
            .and_then(Option::as_mut)
        {
            Some(f) => f(
                &mut HandlerCtx {
                    peer,
                    opcode: h.opcode,
                    qp: &mut c.qp,
                },
                req,
                reply,
            ),
            None => Err(rpc::status::UNKNOWN_OPCODE),
        };
        if result == Err(DEFER) {
            self.deferred.push_back(Deferred {
                peer,
                opcode: h.opcode,
                req: req.to_vec(),
                slot: h.slot,
                seq: h.seq,
                received_ns,
                epoch: self.epochs[peer as usize],
            });
        }
        // The request is consumed (a deferred one was copied): its ring space can be reused.
        c.consumed = at + rpc::ring_footprint(h.len as usize);
        c.publish_consumed();
        let (status, len) = match result {
            Err(DEFER) => return,
            Ok(n) if n <= MAX_PAYLOAD => (rpc::status::OK, n),
            Ok(_) => (rpc::status::FAILED, 0),
            Err(s) => (s, 0),
        };
        self.send_reply(peer, h.slot, h.seq, status, len, received_ns);
    }

    /// Writes a reply whose payload (`len` bytes) is already in our reply buffer into the
    /// caller's slot; the request's handler started at `received_ns`.
    fn send_reply(
        &mut self,
        peer: u32,
        slot: u32,
        seq: u32,
        status: u32,
        len: usize,
        received_ns: u64,
    ) {
        let Some(c) = self.conns.get_mut(peer as usize).and_then(Option::as_mut) else {
            return;
        };
        let (reply_addr, reply_ptr) = self.reply;
        let rh = ReplyHeader {
            magic: rpc::REPLY_MAGIC,
            status,
            len: len as u32,
            seq,
            _pad: [0; 4],
        };
        // SAFETY: the reply buffer's first 32 bytes hold the header.
        unsafe { core::ptr::copy_nonoverlapping(rh.as_bytes().as_ptr(), reply_ptr, 32) };
        // Payload after the slot's header page (a plain WRITE), then the header with the
        // immediate: the caller sees the completion only once both are in place.
        let target = c.peer_replies;
        let slot_base = u64::from(slot) * SLOT_BYTES;
        let write = |opcode: WrOpcode, src: u64, n: usize, dst: u64| {
            let mut wr = RawWr {
                opcode: opcode as u32,
                imm: IMM_REPLY | slot,
                num_sge: 1,
                remote_addr: target.addr(dst),
                rkey: target.mr.rkey,
                ..Default::default()
            };
            wr.sge[0] = Sge {
                addr: src,
                len: n as u32,
                _pad: 0,
            };
            wr
        };
        if len > 0 {
            let _ = c.qp.post_send(
                &write(WrOpcode::Write, reply_addr + 32, len, slot_base + 4096),
                Some(&target),
            );
        }
        // Served once the reply is visible, before the post rings a sleeping caller's doorbell
        // (waking the caller is part of its call).
        let done_ns = self.env.now_ns();
        let _ = c.qp.post_send(
            &write(WrOpcode::WriteImm, reply_addr, 32, slot_base),
            Some(&target),
        );
        self.stats.served += 1;
        self.stats.serve_ns += done_ns.saturating_sub(received_ns);
    }
}
