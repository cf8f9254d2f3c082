//! Queue pairs. The sending side executes work requests itself: copies through the window onto
//! the target's MR, then (WRITE_WITH_IMM, SEND) publishes a completion into the target's QPCB and
//! rings the target's doorbell only if it said it sleeps. The receiving side polls its own QPCB.

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{Ordering, fence};

use virtio_rdma::abi::control::{CtrlStatus, MrKey};
use virtio_rdma::abi::cqe::{Cqe, WcOpcode, WcStatus};
use virtio_rdma::abi::mr::{ALL_PERMS, Access, REMOTE_WRITE, tags};
use virtio_rdma::abi::netmodel::LinkClock;
use virtio_rdma::abi::peers::PeerState;
use virtio_rdma::abi::qpcb::{self, InboundEntry, QpState, RecvEntry};
use virtio_rdma::abi::wr::{RawWr, WorkRequest, WrOpcode};
use zerocopy::{FromBytes, IntoBytes};

use crate::env::{Env, FabricError};
use crate::mr::{LocalMr, RemoteMrHandle};
use crate::shared::u32_at;

/// How long a sender waits for room in the target's ring or a posted receive buffer.
const RNR_TIMEOUT_NS: u64 = 1_000_000_000;

/// A queue pair to one peer.
pub struct Qp<E: Env> {
    env: &'static E,
    /// Its number.
    pub qpn: u32,
    /// The peer.
    pub peer: u32,
    local: LocalMr,
    remote: Option<RemoteMrHandle>,
    inbound_cons: u32,
    rq_prod: u32,
    posted: Vec<u64>,
    out_prod: u32,
    out_rq_cons: u32,
    link: LinkClock,
    done: VecDeque<(u64, Cqe)>,
    send_targets: Vec<RemoteMrHandle>,
    /// `(rkey, peer MR generation)` of handles re-validated after the peer revoked some MR.
    revalidated: Vec<(u32, u32)>,
    /// Inbound entries rejected as malformed (a confused peer).
    pub rejected: u64,
}

impl<E: Env> core::fmt::Debug for Qp<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Qp")
            .field("qpn", &self.qpn)
            .field("peer", &self.peer)
            .finish()
    }
}

impl<E: Env> Qp<E> {
    /// Creates a queue pair to `peer` on completion queue `cq`: allocates and registers its
    /// control block so the peer can find it (tag `QPCB | our id`).
    pub fn create(env: &'static E, peer: u32, cq: u32) -> Result<Qp<E>, FabricError> {
        let (pa, va) = env.alloc(qpcb::QPCB_BYTES).ok_or(FabricError::NoMemory)?;
        let me = env.id();
        // Unique enough: the clock in ns mixed with who we are (never 0).
        let nonce = ((env.now_ns() as u32) ^ (me << 24) ^ (peer << 16)) | 1;
        // SAFETY: the QPCB is our fresh allocation; header words are 4-aligned.
        unsafe {
            u32_at(va, qpcb::NONCE_OFF).store(nonce, Ordering::Relaxed);
            u32_at(va, qpcb::BOUND_OFF).store(0, Ordering::Relaxed);
            u32_at(va, qpcb::OWNER_OFF).store(me, Ordering::Relaxed);
            u32_at(va, qpcb::PEER_OFF).store(peer, Ordering::Relaxed);
            u32_at(va, qpcb::STATE_OFF).store(QpState::Reset as u32, Ordering::Relaxed);
            u32_at(va, qpcb::MAGIC_OFF).store(qpcb::MAGIC, Ordering::Release);
        }
        let local = match env.reg_mr(
            va,
            qpcb::QPCB_BYTES,
            ALL_PERMS,
            tags::for_peer(tags::QPCB, peer),
        ) {
            Ok(mr) => mr,
            Err(e) => {
                // Never visible to anyone: reusable at once.
                env.free(pa, qpcb::QPCB_BYTES);
                return Err(e);
            }
        };
        // (If this fails the block was visible for a moment: it is withdrawn, not reused.)
        let qpn = env.create_qp(peer, cq, pa).inspect_err(|_| {
            let _ = env.dereg_mr(&local);
        })?;
        Ok(Qp {
            env,
            qpn,
            peer,
            local,
            remote: None,
            inbound_cons: 0,
            rq_prod: 0,
            posted: alloc::vec![0; qpcb::RQ_ENTRIES as usize],
            out_prod: 0,
            out_rq_cons: 0,
            link: LinkClock::default(),
            done: VecDeque::new(),
            send_targets: Vec::new(),
            revalidated: Vec::new(),
            rejected: 0,
        })
    }

    /// Waits for the peer to be up and to have created its side, then maps it.
    pub fn connect(&mut self, timeout_ns: u64) -> Result<(), FabricError> {
        let give_up = self.env.now_ns().saturating_add(timeout_ns);
        while !self.try_connect()? {
            let now = self.env.now_ns();
            if now > give_up {
                return Err(FabricError::Timeout);
            }
            self.env.sleep_until(now + 200_000);
        }
        Ok(())
    }

    /// Whether the peer's side is there yet; maps it if so. Never waits.
    pub fn try_connect(&mut self) -> Result<bool, FabricError> {
        if self.remote.is_some() {
            return Ok(true);
        }
        if self.env.peer_state(self.peer) != PeerState::Up {
            return Ok(false);
        }
        let h = match self.env.lookup(
            self.peer,
            MrKey::Tag(tags::for_peer(tags::QPCB, self.env.id())),
        ) {
            Ok(h) => h,
            Err(FabricError::Control(CtrlStatus::NotFound | CtrlStatus::PeerDown)) => {
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        if h.mr.len < qpcb::QPCB_BYTES {
            return Err(FabricError::BadPeerBlock);
        }
        // SAFETY: the window maps the peer's QPCB (at least QPCB_BYTES, checked above).
        let (magic, owner, peer, nonce, bound) = unsafe {
            (
                u32_at(h.va, qpcb::MAGIC_OFF).load(Ordering::Acquire),
                u32_at(h.va, qpcb::OWNER_OFF).load(Ordering::Relaxed),
                u32_at(h.va, qpcb::PEER_OFF).load(Ordering::Relaxed),
                u32_at(h.va, qpcb::NONCE_OFF).load(Ordering::Relaxed),
                u32_at(h.va, qpcb::BOUND_OFF).load(Ordering::Acquire),
            )
        };
        if magic != qpcb::MAGIC || owner != self.peer || peer != self.env.id() {
            return Err(FabricError::BadPeerBlock);
        }
        let mine = self.local_word(qpcb::NONCE_OFF).load(Ordering::Relaxed);
        if bound != 0 && bound != mine {
            // Still connected to our predecessor (the peer has not noticed it died): wait
            // for the half it makes for us.
            return Ok(false);
        }
        // Resume the counters where the peer's block says (a reconnect keeps them consistent).
        // SAFETY: as above.
        unsafe {
            self.out_prod = u32_at(h.va, qpcb::INBOUND_PROD_OFF).load(Ordering::Acquire);
            self.out_rq_cons = u32_at(h.va, qpcb::RQ_CONS_OFF).load(Ordering::Acquire);
        }
        self.remote = Some(h);
        self.set_local(qpcb::BOUND_OFF, nonce);
        self.set_local(qpcb::STATE_OFF, QpState::Ready as u32);
        Ok(true)
    }

    /// The environment.
    pub fn env(&self) -> &'static E {
        self.env
    }

    /// Tears the queue pair down: its control block is withdrawn, so a peer's next incarnation
    /// does not find it. Returns the block's memory `(fabric address, bytes)`: the caller frees
    /// it once no peer can write into it any more (see `rpc::conn`).
    pub fn destroy(self) -> (u64, u64) {
        let _ = self.env.dereg_mr(&self.local);
        let _ = self.env.destroy_qp(self.qpn);
        (self.local.pa, self.local.len)
    }

    /// The peer incarnation this queue pair is connected to (`None` before it connected).
    pub fn connected_incarnation(&self) -> Option<u32> {
        self.remote.as_ref().map(|r| r.incarnation)
    }

    fn local_word(&self, off: u64) -> &core::sync::atomic::AtomicU32 {
        // SAFETY: our QPCB allocation is QPCB_BYTES long; offsets are ABI constants inside it.
        unsafe { u32_at(self.local.va, off) }
    }

    fn set_local(&self, off: u64, v: u32) {
        self.local_word(off).store(v, Ordering::Release);
    }

    /// Whether operations can go out: our block is not failed (our VMM marks it when the peer
    /// dies) and the peer is the one we connected to.
    fn usable(&self) -> Result<&RemoteMrHandle, WcStatus> {
        let Some(r) = self.remote.as_ref() else {
            return Err(WcStatus::RemoteInvalidRequest);
        };
        if QpState::from_u32(self.local_word(qpcb::STATE_OFF).load(Ordering::Acquire))
            == QpState::Error
            || self.env.peer_state(self.peer) != PeerState::Up
            || self.env.peer_incarnation(self.peer) != r.incarnation
        {
            return Err(WcStatus::RetryExceeded);
        }
        Ok(r)
    }

    /// Whether the peer is gone.
    pub fn failed(&self) -> bool {
        matches!(self.usable(), Err(WcStatus::RetryExceeded))
    }

    fn complete(
        &mut self,
        visible_at: u64,
        wr_id: u64,
        status: WcStatus,
        opcode: WcOpcode,
        len: u64,
    ) {
        let c = Cqe {
            wr_id,
            status: status as u32,
            opcode: opcode as u32,
            byte_len: len as u32,
            imm: 0,
            qpn: self.qpn,
            peer: self.peer,
        };
        self.done.push_back((visible_at, c));
    }

    /// Posts a send-side work request. One-sided operations name `target` (the handle the
    /// request's `rkey` must match). Errors complete with an error status (always signaled) and
    /// are also returned.
    pub fn post_send(
        &mut self,
        raw: &RawWr,
        target: Option<&RemoteMrHandle>,
    ) -> Result<(), WcStatus> {
        let wr = match raw.decode() {
            Ok(w) if w.opcode != WrOpcode::Recv => w,
            Ok(_) | Err(_) => {
                let status = raw.decode().err().unwrap_or(WcStatus::RemoteInvalidRequest);
                self.complete(0, raw.wr_id, status, WcOpcode::Send, 0);
                return Err(status);
            }
        };
        let opcode = match wr.opcode {
            WrOpcode::Read => WcOpcode::RdmaRead,
            WrOpcode::Send | WrOpcode::SendImm => WcOpcode::Send,
            _ => WcOpcode::RdmaWrite,
        };
        match self.execute(&wr, target) {
            Ok(visible_at) => {
                if wr.signaled {
                    self.complete(visible_at, wr.wr_id, WcStatus::Success, opcode, wr.len);
                }
                Ok(())
            }
            Err(status) => {
                self.complete(0, wr.wr_id, status, opcode, 0);
                Err(status)
            }
        }
    }

    fn local_ok(&self, wr: &WorkRequest) -> Result<(), WcStatus> {
        for s in wr.sges() {
            if self.env.local(s.addr, u64::from(s.len)).is_none() {
                return Err(WcStatus::LocalProtectionError);
            }
        }
        Ok(())
    }

    /// Copies the request's local buffers to `dst`.
    fn gather(&self, wr: &WorkRequest, dst: *mut u8) {
        let mut at = 0usize;
        for s in wr.sges() {
            let Some(src) = self.env.local(s.addr, u64::from(s.len)) else {
                return;
            };
            // SAFETY: sources are our memory (checked by `local_ok` and just now); the
            // destination window has room for `wr.len` bytes (checked by the MR check or the
            // receive buffer length).
            unsafe { core::ptr::copy_nonoverlapping(src, dst.add(at), s.len as usize) };
            at += s.len as usize;
        }
    }

    fn execute(
        &mut self,
        wr: &WorkRequest,
        target: Option<&RemoteMrHandle>,
    ) -> Result<u64, WcStatus> {
        self.local_ok(wr)?;
        self.usable()?;
        let model = self.env.model();
        let now = if model.is_off() { 0 } else { self.env.now_ns() };
        match wr.opcode {
            WrOpcode::Write | WrOpcode::WriteImm | WrOpcode::Read => {
                let t = target.ok_or(WcStatus::RemoteInvalidRequest)?;
                let (addr, rkey) = wr.remote.ok_or(WcStatus::RemoteInvalidRequest)?;
                if t.mr.peer != self.peer || !self.handle_still_valid(t) {
                    return Err(WcStatus::RemoteAccessError);
                }
                let access = if wr.opcode == WrOpcode::Read {
                    Access::Read
                } else {
                    Access::Write
                };
                let off = t.mr.check(rkey, addr, wr.len, access)?;
                // SAFETY: `off + len <= mr.len` (checked), inside the mapped window.
                let window = unsafe { t.va.add(off as usize) };
                if wr.opcode == WrOpcode::Read {
                    let mut at = 0usize;
                    for s in wr.sges() {
                        let Some(dst) = self.env.local(s.addr, u64::from(s.len)) else {
                            return Err(WcStatus::LocalProtectionError);
                        };
                        // SAFETY: as above, in the other direction.
                        unsafe {
                            core::ptr::copy_nonoverlapping(window.add(at), dst, s.len as usize)
                        };
                        at += s.len as usize;
                    }
                    let arrive = self.link.transmit(&model, now, wr.len);
                    return Ok(if model.is_off() {
                        0
                    } else {
                        arrive + model.latency_ns
                    });
                }
                self.gather(wr, window);
                let arrive = self.link.transmit(&model, now, wr.len);
                if wr.opcode == WrOpcode::WriteImm {
                    let e = InboundEntry {
                        opcode: WcOpcode::RecvRdmaWithImm as u32,
                        byte_len: wr.len as u32,
                        imm: wr.imm,
                        flags: 0,
                        deliver_at_ns: arrive,
                        rq_index: 0,
                        _pad: 0,
                    };
                    self.publish(e)?;
                }
                Ok(if model.is_off() {
                    0
                } else {
                    arrive + model.latency_ns
                })
            }
            WrOpcode::Send | WrOpcode::SendImm => {
                let (entry, index) = self.take_receive_buffer()?;
                if u64::from(entry.len) < wr.len {
                    return Err(WcStatus::LocalLengthError);
                }
                let target = self.send_target(entry.rkey)?;
                let addr = target
                    .mr
                    .addr
                    .checked_add(entry.offset)
                    .ok_or(WcStatus::RemoteAccessError)?;
                let off = target.mr.check(entry.rkey, addr, wr.len, Access::Write)?;
                // SAFETY: checked against the target MR as above.
                self.gather(wr, unsafe { target.va.add(off as usize) });
                self.out_rq_cons = index.wrapping_add(1);
                let r = self.remote.as_ref().ok_or(WcStatus::RemoteInvalidRequest)?;
                // SAFETY: the peer's QPCB window; RQ_CONS is ours to write.
                unsafe { u32_at(r.va, qpcb::RQ_CONS_OFF) }
                    .store(self.out_rq_cons, Ordering::Release);
                let arrive = self.link.transmit(&model, now, wr.len);
                let e = InboundEntry {
                    opcode: WcOpcode::Recv as u32,
                    byte_len: wr.len as u32,
                    imm: wr.imm,
                    flags: u32::from(wr.opcode == WrOpcode::SendImm),
                    deliver_at_ns: arrive,
                    rq_index: index,
                    _pad: 0,
                };
                self.publish(e)?;
                Ok(if model.is_off() {
                    0
                } else {
                    arrive + model.latency_ns
                })
            }
            WrOpcode::Recv => Err(WcStatus::RemoteInvalidRequest),
        }
    }

    /// Whether `h` still names a live MR. A peer revoking any MR bumps its generation; handles
    /// from before are then checked once, by key, with the device (and remembered), instead of
    /// being refused wholesale.
    fn handle_still_valid(&mut self, h: &RemoteMrHandle) -> bool {
        if self.env.handle_valid(h) {
            return true;
        }
        let peer = h.mr.peer;
        if self.env.peer_state(peer) != PeerState::Up
            || self.env.peer_incarnation(peer) != h.incarnation
        {
            return false;
        }
        let generation = self.env.peer_mr_generation(peer);
        if self.revalidated.contains(&(h.mr.rkey, generation)) {
            return true;
        }
        match self.env.lookup(peer, MrKey::Rkey(h.mr.rkey)) {
            Ok(fresh) if fresh.va == h.va && fresh.mr.len == h.mr.len => {
                self.revalidated.retain(|&(k, _)| k != h.mr.rkey);
                self.revalidated.push((h.mr.rkey, generation));
                true
            }
            _ => false,
        }
    }

    /// Waits until `ready` says yes, the peer fails, or the RNR timeout passes.
    fn wait_room(&self, mut ready: impl FnMut() -> bool) -> Result<(), WcStatus> {
        if ready() {
            return Ok(());
        }
        let give_up = self.env.now_ns() + RNR_TIMEOUT_NS;
        loop {
            self.env.relax();
            if ready() {
                return Ok(());
            }
            self.usable()?;
            if self.env.now_ns() > give_up {
                return Err(WcStatus::RnrRetryExceeded);
            }
        }
    }

    fn take_receive_buffer(&mut self) -> Result<(RecvEntry, u32), WcStatus> {
        let r = self.remote.ok_or(WcStatus::RemoteInvalidRequest)?;
        let index = self.out_rq_cons;
        // SAFETY: the peer's QPCB window; RQ_PROD is the peer's counter.
        let prod = || unsafe { u32_at(r.va, qpcb::RQ_PROD_OFF) }.load(Ordering::Acquire);
        self.wait_room(|| {
            qpcb::ring_pending(prod(), index, qpcb::RQ_ENTRIES).is_some_and(|n| n > 0)
        })?;
        let mut bytes = [0u8; 32];
        // SAFETY: the entry lies inside the peer's QPCB window.
        unsafe {
            core::ptr::copy_nonoverlapping(
                r.va.add(qpcb::rq_entry_offset(index) as usize),
                bytes.as_mut_ptr(),
                32,
            )
        };
        let e = RecvEntry::read_from_bytes(&bytes).map_err(|_| WcStatus::RemoteInvalidRequest)?;
        Ok((e, index))
    }

    fn send_target(&mut self, rkey: u32) -> Result<RemoteMrHandle, WcStatus> {
        if let Some(h) = self
            .send_targets
            .iter()
            .find(|h| h.mr.rkey == rkey && self.env.handle_valid(h))
        {
            return Ok(*h);
        }
        let h = self
            .env
            .lookup(self.peer, MrKey::Rkey(rkey))
            .map_err(|_| WcStatus::RemoteAccessError)?;
        self.send_targets.retain(|x| x.mr.rkey != rkey);
        self.send_targets.push(h);
        Ok(h)
    }

    /// Publishes an inbound completion into the peer's block and wakes it if it sleeps.
    fn publish(&mut self, e: InboundEntry) -> Result<(), WcStatus> {
        let r = self.remote.ok_or(WcStatus::RemoteInvalidRequest)?;
        let prod = self.out_prod;
        // SAFETY: the peer's QPCB window; INBOUND_CONS is the peer's counter.
        let cons = || unsafe { u32_at(r.va, qpcb::INBOUND_CONS_OFF) }.load(Ordering::Acquire);
        self.wait_room(|| {
            qpcb::ring_pending(prod, cons(), qpcb::INBOUND_ENTRIES)
                .is_some_and(|n| n < qpcb::INBOUND_ENTRIES)
        })?;
        // SAFETY: the entry slot lies inside the window; the peer reads it only after `prod`.
        unsafe {
            let dst = r.va.add(qpcb::inbound_entry_offset(prod) as usize);
            core::ptr::copy_nonoverlapping(e.as_bytes().as_ptr(), dst, 32);
        }
        self.out_prod = prod.wrapping_add(1);
        fence(Ordering::Release);
        // SAFETY: INBOUND_PROD in the peer's block is ours to write.
        unsafe { u32_at(r.va, qpcb::INBOUND_PROD_OFF) }.store(self.out_prod, Ordering::Release);
        fence(Ordering::SeqCst);
        // SAFETY: SLEEPING is the peer's flag, in its block.
        if unsafe { u32_at(r.va, qpcb::SLEEPING_OFF) }.load(Ordering::Acquire) != 0 {
            self.env.ring_doorbell(self.peer);
        }
        Ok(())
    }

    /// Posts a receive buffer: `len` bytes at `offset` in our MR `mr` (which must allow remote
    /// writes).
    pub fn post_recv(
        &mut self,
        mr: &LocalMr,
        offset: u64,
        len: u32,
        wr_id: u64,
    ) -> Result<(), WcStatus> {
        if mr.perms & REMOTE_WRITE == 0
            || offset
                .checked_add(u64::from(len))
                .is_none_or(|e| e > mr.len)
        {
            return Err(WcStatus::LocalProtectionError);
        }
        let consumed = self.local_word(qpcb::RQ_CONS_OFF).load(Ordering::Acquire);
        if qpcb::ring_pending(self.rq_prod, consumed, qpcb::RQ_ENTRIES)
            .is_none_or(|n| n >= qpcb::RQ_ENTRIES)
        {
            return Err(WcStatus::LocalLengthError);
        }
        let e = RecvEntry {
            wr_id,
            offset,
            len,
            rkey: mr.rkey,
            _pad: 0,
        };
        // SAFETY: our QPCB; the entry slot is inside it.
        unsafe {
            let dst = self
                .local
                .va
                .add(qpcb::rq_entry_offset(self.rq_prod) as usize);
            core::ptr::copy_nonoverlapping(e.as_bytes().as_ptr(), dst, 32);
        }
        self.posted[(self.rq_prod % qpcb::RQ_ENTRIES) as usize] = wr_id;
        self.rq_prod = self.rq_prod.wrapping_add(1);
        self.set_local(qpcb::RQ_PROD_OFF, self.rq_prod);
        Ok(())
    }

    /// Whether anything is waiting: inbound entries (even not yet deliverable) or completions.
    pub fn has_work(&self) -> bool {
        let prod = self
            .local_word(qpcb::INBOUND_PROD_OFF)
            .load(Ordering::Acquire);
        prod != self.inbound_cons || !self.done.is_empty()
    }

    /// Tells senders whether we sleep (they ring the doorbell if so).
    pub fn set_sleeping(&self, on: bool) {
        self.local_word(qpcb::SLEEPING_OFF)
            .store(u32::from(on), Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Takes up to `out.len()` completions: inbound (receives, writes with immediate) first,
    /// then our own send-side completions.
    pub fn poll(&mut self, out: &mut [Cqe]) -> usize {
        let mut n = 0;
        let model_on = !self.env.model().is_off();
        let now = if model_on { self.env.now_ns() } else { 0 };
        let prod = self
            .local_word(qpcb::INBOUND_PROD_OFF)
            .load(Ordering::Acquire);
        let pending = qpcb::ring_pending(prod, self.inbound_cons, qpcb::INBOUND_ENTRIES);
        if pending.is_none() {
            // Impossible counters from the peer: drop what it claims and count it.
            self.rejected += 1;
            self.inbound_cons = prod;
            self.set_local(qpcb::INBOUND_CONS_OFF, prod);
        }
        while n < out.len() && self.inbound_cons != prod && pending.is_some() {
            let mut bytes = [0u8; 32];
            // SAFETY: our QPCB; the entry is inside it.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    self.local
                        .va
                        .add(qpcb::inbound_entry_offset(self.inbound_cons) as usize),
                    bytes.as_mut_ptr(),
                    32,
                )
            };
            let Ok(raw) = InboundEntry::read_from_bytes(&bytes) else {
                break;
            };
            match raw.decode() {
                Ok(e) => {
                    if model_on && e.deliver_at_ns > now {
                        break;
                    }
                    let wr_id = if e.opcode == WcOpcode::Recv {
                        self.posted[(e.rq_index % qpcb::RQ_ENTRIES) as usize]
                    } else {
                        0
                    };
                    out[n] = Cqe {
                        wr_id,
                        status: WcStatus::Success as u32,
                        opcode: e.opcode as u32,
                        byte_len: e.byte_len,
                        imm: e.imm.unwrap_or(0),
                        qpn: self.qpn,
                        peer: self.peer,
                    };
                    n += 1;
                }
                Err(_) => self.rejected += 1,
            }
            self.inbound_cons = self.inbound_cons.wrapping_add(1);
            self.set_local(qpcb::INBOUND_CONS_OFF, self.inbound_cons);
        }
        while n < out.len() {
            match self.done.front() {
                Some(&(at, c)) if !model_on || at <= now => {
                    out[n] = c;
                    n += 1;
                    self.done.pop_front();
                }
                _ => break,
            }
        }
        n
    }

    /// Takes only our own send-side completions (not inbound ones, which belong to whoever
    /// serves this queue pair).
    pub fn poll_local(&mut self, out: &mut [Cqe]) -> usize {
        let model_on = !self.env.model().is_off();
        let now = if model_on { self.env.now_ns() } else { 0 };
        let mut n = 0;
        while n < out.len() {
            match self.done.front() {
                Some(&(at, c)) if !model_on || at <= now => {
                    out[n] = c;
                    n += 1;
                    self.done.pop_front();
                }
                _ => break,
            }
        }
        n
    }

    /// The handle of the peer's control block (after `connect`).
    pub fn remote_block(&self) -> Option<&RemoteMrHandle> {
        self.remote.as_ref()
    }
}
