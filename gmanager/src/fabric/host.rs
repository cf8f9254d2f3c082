//! The managers' endpoint on the fabric: the host process joins the fabric as a component of
//! its own ([`MANAGER_ID`]), so the global managers speak the same RPC as the monitors.
//!
//! It looks to every VMM like any peer (a memory memfd, an MR directory, a doorbell eventfd),
//! and implements `lego_rpc::Env` over them: fabric addresses are offsets into its memfd; a
//! peer's MR is mapped here with `mmap` of that range of the peer's memfd, read-only unless the
//! MR allows remote writes; a doorbell is a write to the peer's eventfd (its irqfd).
//!
//! When a component dies, everything the endpoint holds of it goes at once (its memfd, its
//! directory, its doorbell), and each mapping of its memory is replaced in place by anonymous
//! memory (`SharedMap::retire`): the host frees the dead guest's memory, while a handle the RPC
//! engine still holds stays harmless until the engine closes the connection and says so
//! (`Env::forget_stale_handles`), when the placeholders are unmapped too.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, mpsc};
use std::time::Instant;

use lego_rpc::{Env, FabricError, LocalMr, RemoteMrHandle, u32_at};
use virtio_rdma::abi::control::{CtrlStatus, MrKey};
use virtio_rdma::abi::mr::{REMOTE_WRITE, RemoteMr};
use virtio_rdma::abi::netmodel::LinkModel;
use virtio_rdma::abi::peers::PeerState;
use virtio_rdma::abi::qpcb::{self, QpState};
use virtio_rdma::abi::{MAX_MRS, MAX_PEERS, PollMode};
use virtio_rdma::backend::directory::{DIRECTORY_BYTES, DirEntry, Directory};
use virtio_rdma::backend::shm::{self, SharedMap};
use virtio_rdma::backend::wire::PeerInfo;
use vmm_sys_util::eventfd::EventFd;

/// The managers' component id: the last one.
pub const MANAGER_ID: u32 = MAX_PEERS - 1;
/// Shared memory of the endpoint (rings and reply slots of every connection).
const MEM_BYTES: u64 = 128 << 20;
const PAGE: u64 = 4096;

/// What the endpoint holds of a live component.
#[derive(Debug)]
struct Live {
    memfd: OwnedFd,
    dir: Directory,
    wake: EventFd,
}

#[derive(Debug)]
struct Peer {
    info: PeerInfo,
    state: PeerState,
    mr_generation: u32,
    /// `None` once it died.
    live: Option<Live>,
    maps: HashMap<u32, SharedMap>,
    /// Placeholders where revoked MRs and dead incarnations were mapped (anonymous memory,
    /// `SharedMap::retire`): kept until the engine holds no stale handle into them.
    retired: Vec<SharedMap>,
}

/// Replaces `m` with a placeholder; if that fails, keeps the mapping itself (it then still
/// holds the peer's memory, which is a leak, not a crash).
fn retire(m: SharedMap, into: &mut Vec<SharedMap>) {
    if let Err(e) = m.retire() {
        tracing::warn!("cannot let go of a peer's memory mapping: {e}");
    }
    into.push(m);
}

/// What the endpoint holds of a component (for tests).
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Its memfd, directory and doorbell are held.
    pub live: bool,
    /// Its MRs mapped here.
    pub maps: usize,
    /// Placeholders kept for stale handles.
    pub retired: usize,
}

#[derive(Debug)]
struct State {
    /// Free ranges of our memory, sorted, coalesced.
    free: Vec<(u64, u64)>,
    mrs: Vec<Option<u32>>,
    peers: HashMap<u32, Peer>,
    qps: HashMap<u32, (u32, u64)>,
    next_qpn: u32,
    next_cq: u32,
    rkey_seed: u32,
}

/// The endpoint.
#[derive(Debug)]
pub struct HostEndpoint {
    info: PeerInfo,
    mem_file: File,
    mem: SharedMap,
    dir_file: File,
    dir: Directory,
    wake: EventFd,
    started: Instant,
    revoked: Mutex<mpsc::Sender<u32>>,
    state: Mutex<State>,
}

impl HostEndpoint {
    /// A new endpoint; its own MR revocations are sent on `revoked` (for the coordinator to tell
    /// the VMMs).
    pub fn new(cluster: &str, revoked: mpsc::Sender<u32>) -> std::io::Result<HostEndpoint> {
        Self::with_identity(
            PeerInfo {
                id: MANAGER_ID,
                name: "managers".into(),
                role: 0,
                mem_bytes: MEM_BYTES,
                incarnation: 1,
            },
            &format!("lego-{cluster}-managers"),
            revoked,
        )
    }

    /// An endpoint that calls itself `info` (tests run several in one process); its memfds are
    /// named after `memfd_name`.
    pub fn with_identity(
        info: PeerInfo,
        memfd_name: &str,
        revoked: mpsc::Sender<u32>,
    ) -> std::io::Result<HostEndpoint> {
        let info = PeerInfo {
            mem_bytes: MEM_BYTES,
            ..info
        };
        let mem_file = shm::memfd(memfd_name, MEM_BYTES)?;
        let mem = SharedMap::map(&mem_file, MEM_BYTES as usize, true)?;
        let dir_file = shm::memfd(&format!("{memfd_name}-mrdir"), DIRECTORY_BYTES)?;
        let dir = Directory::map(&dir_file, true, info.id)?;
        let wake = EventFd::new(libc::EFD_NONBLOCK)?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(7, |d| d.subsec_nanos())
            | 1;
        Ok(HostEndpoint {
            info,
            mem_file,
            mem,
            dir_file,
            dir,
            wake,
            started: Instant::now(),
            revoked: Mutex::new(revoked),
            state: Mutex::new(State {
                // Page 0 stays unused so no fabric address is 0.
                free: vec![(PAGE, MEM_BYTES)],
                mrs: vec![None; MAX_MRS as usize],
                peers: HashMap::new(),
                qps: HashMap::new(),
                next_qpn: 0,
                next_cq: 0,
                rkey_seed: seed,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How peers see the endpoint.
    pub fn info(&self) -> &PeerInfo {
        &self.info
    }

    /// The descriptors a VMM needs to treat the endpoint as a peer.
    pub fn fds(&self) -> [&dyn AsRawFd; 3] {
        [&self.mem_file, &self.dir_file, &self.wake]
    }

    /// A component is up: map its directory, remember its memory and doorbell.
    pub fn on_peer(&self, info: PeerInfo, fds: [OwnedFd; 3]) -> std::io::Result<()> {
        let [memfd, dirfd, wakefd] = fds;
        let dir = Directory::map(&dirfd, false, 0)?;
        // SAFETY: an eventfd descriptor handed to us by the coordinator; we own this copy.
        let wake = unsafe {
            <EventFd as std::os::fd::FromRawFd>::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(
                wakefd,
            ))
        };
        let mut st = self.lock();
        // A previous incarnation's placeholders stay until the engine closed its connection.
        let mut retired = Vec::new();
        if let Some(old) = st.peers.remove(&info.id) {
            retired = old.retired;
            for m in old.maps.into_values() {
                retire(m, &mut retired);
            }
        }
        st.peers.insert(
            info.id,
            Peer {
                info,
                state: PeerState::Up,
                mr_generation: 0,
                live: Some(Live { memfd, dir, wake }),
                maps: HashMap::new(),
                retired,
            },
        );
        drop(st);
        self.kick();
        Ok(())
    }

    /// A component failed: let go of its memory (see the module doc), fail our queue pairs to
    /// it.
    pub fn on_peer_dead(&self, id: u32) {
        let mut st = self.lock();
        let Some(p) = st.peers.get_mut(&id) else {
            return;
        };
        p.state = PeerState::Dead;
        p.live = None;
        let maps: Vec<SharedMap> = p.maps.drain().map(|(_, m)| m).collect();
        for m in maps {
            retire(m, &mut p.retired);
        }
        for &(peer, qpcb) in st.qps.values() {
            if peer == id
                && let Some(block) = self.local_ptr(qpcb, qpcb::QPCB_BYTES)
            {
                {
                    // SAFETY: the QPCB is in our memory; the state word is 4-aligned.
                    unsafe { u32_at(block, qpcb::STATE_OFF) }
                        .store(QpState::Error as u32, Ordering::Release);
                }
            }
        }
        drop(st);
        self.kick();
    }

    /// A component revoked an MR.
    pub fn on_revoked(&self, id: u32, rkey: u32) {
        let mut st = self.lock();
        if let Some(p) = st.peers.get_mut(&id) {
            if let Some(m) = p.maps.remove(&rkey) {
                retire(m, &mut p.retired);
            }
            p.mr_generation = p.mr_generation.wrapping_add(1);
        }
    }

    /// What the endpoint holds of component `id`.
    #[cfg(test)]
    pub fn held(&self, id: u32) -> Held {
        self.lock()
            .peers
            .get(&id)
            .map(|p| Held {
                live: p.live.is_some(),
                maps: p.maps.len(),
                retired: p.retired.len(),
            })
            .unwrap_or_default()
    }

    /// Bytes of our memory free for [`Env::alloc`].
    #[cfg(test)]
    pub fn free_bytes(&self) -> u64 {
        self.lock().free.iter().map(|&(s, e)| e - s).sum()
    }

    /// Wakes the endpoint's thread if it sleeps.
    pub fn kick(&self) {
        let _ = self.wake.write(1);
    }

    fn local_ptr(&self, addr: u64, len: u64) -> Option<*mut u8> {
        let end = addr.checked_add(len)?;
        // SAFETY: `addr + len <= MEM_BYTES`, inside our mapping.
        (addr >= PAGE && end <= MEM_BYTES).then(|| unsafe { self.mem.as_ptr().add(addr as usize) })
    }

    fn peer_word<T: Default>(&self, peer: u32, f: impl FnOnce(&Peer) -> T) -> T {
        self.lock().peers.get(&peer).map(f).unwrap_or_default()
    }
}

impl Env for HostEndpoint {
    fn id(&self) -> u32 {
        self.info.id
    }

    fn poll_mode(&self) -> PollMode {
        PollMode::Adaptive
    }

    fn spin_ns(&self) -> u64 {
        20_000
    }

    fn model(&self) -> LinkModel {
        LinkModel::default()
    }

    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    fn peer_state(&self, peer: u32) -> PeerState {
        self.lock()
            .peers
            .get(&peer)
            .map_or(PeerState::Absent, |p| p.state)
    }

    fn peer_incarnation(&self, peer: u32) -> u32 {
        self.peer_word(peer, |p| p.info.incarnation)
    }

    fn peer_mr_generation(&self, peer: u32) -> u32 {
        self.peer_word(peer, |p| p.mr_generation)
    }

    fn alloc(&self, bytes: u64) -> Option<(u64, *mut u8)> {
        let len = bytes.checked_next_multiple_of(PAGE)?;
        let mut st = self.lock();
        let i = st.free.iter().position(|&(s, e)| e - s >= len)?;
        let (s, e) = st.free[i];
        if e - s == len {
            st.free.remove(i);
        } else {
            st.free[i] = (s + len, e);
        }
        drop(st);
        let p = self.local_ptr(s, len)?;
        // SAFETY: the range was free, inside our mapping, and is now ours alone.
        unsafe { std::ptr::write_bytes(p, 0, len as usize) };
        Some((s, p))
    }

    fn free(&self, addr: u64, bytes: u64) {
        let Some(len) = bytes.checked_next_multiple_of(PAGE) else {
            return;
        };
        let Some(end) = addr.checked_add(len) else {
            return;
        };
        if !addr.is_multiple_of(PAGE) || addr < PAGE || end > MEM_BYTES || len == 0 {
            return;
        }
        let mut st = self.lock();
        let free = &mut st.free;
        let i = free.partition_point(|&(s, _)| s < addr);
        // Overlapping a free range: a double free, refused rather than corrupting the list.
        if free.get(i).is_some_and(|&(s, _)| s < end) || i > 0 && free[i - 1].1 > addr {
            tracing::warn!("the managers' endpoint: double free of {addr:#x}+{len:#x} ignored");
            return;
        }
        free.insert(i, (addr, end));
        if i + 1 < free.len() && free[i + 1].0 == end {
            free[i].1 = free[i + 1].1;
            free.remove(i + 1);
        }
        if i > 0 && free[i - 1].1 == addr {
            free[i - 1].1 = free[i].1;
            free.remove(i);
        }
    }

    fn local(&self, addr: u64, len: u64) -> Option<*mut u8> {
        self.local_ptr(addr, len)
    }

    fn fabric_addr(&self, p: *const u8) -> Option<u64> {
        let off = (p as u64).checked_sub(self.mem.as_ptr() as u64)?;
        (off < MEM_BYTES).then_some(off)
    }

    fn reg_mr(&self, p: *mut u8, len: u64, perms: u32, tag: u32) -> Result<LocalMr, FabricError> {
        let pa = self.fabric_addr(p).ok_or(FabricError::BadAddress)?;
        if !pa.is_multiple_of(PAGE)
            || !len.is_multiple_of(PAGE)
            || len == 0
            || self.local_ptr(pa, len).is_none()
        {
            return Err(FabricError::BadAddress);
        }
        let mut st = self.lock();
        let slot = st
            .mrs
            .iter()
            .position(Option::is_none)
            .ok_or(FabricError::Control(CtrlStatus::NoResources))?;
        let s = &mut *st;
        let rkey = virtio_rdma::backend::rkeys::next_rkey(&mut s.rkey_seed, &s.mrs);
        st.mrs[slot] = Some(rkey);
        self.dir.publish(
            slot as u32,
            DirEntry {
                rkey,
                tag,
                perms,
                gpa: pa,
                len,
            },
        );
        Ok(LocalMr {
            rkey,
            pa,
            va: p,
            len,
            perms,
            tag,
        })
    }

    fn dereg_mr(&self, mr: &LocalMr) -> Result<(), FabricError> {
        let mut st = self.lock();
        let slot = st
            .mrs
            .iter()
            .position(|m| *m == Some(mr.rkey))
            .ok_or(FabricError::Control(CtrlStatus::NotFound))?;
        st.mrs[slot] = None;
        self.dir.revoke(slot as u32);
        if let Ok(tx) = self.revoked.lock() {
            let _ = tx.send(mr.rkey);
        }
        Ok(())
    }

    fn lookup(&self, peer: u32, key: MrKey) -> Result<RemoteMrHandle, FabricError> {
        let mut st = self.lock();
        let p = st
            .peers
            .get_mut(&peer)
            .ok_or(FabricError::Control(CtrlStatus::PeerDown))?;
        let live = match (&p.live, p.state) {
            (Some(l), PeerState::Up) => l,
            _ => return Err(FabricError::Control(CtrlStatus::PeerDown)),
        };
        let e = match key {
            MrKey::Tag(t) => live.dir.find_tag(t),
            MrKey::Rkey(k) => live.dir.find_rkey(k),
        }
        .ok_or(FabricError::Control(CtrlStatus::NotFound))?;
        if e.gpa
            .checked_add(e.len)
            .is_none_or(|end| end > p.info.mem_bytes)
            || e.len == 0
        {
            return Err(FabricError::Control(CtrlStatus::NotFound));
        }
        let va = match p.maps.entry(e.rkey) {
            Entry::Occupied(m) => m.get().as_ptr(),
            Entry::Vacant(slot) => {
                let len = usize::try_from(e.len).map_err(|_| FabricError::BadAddress)?;
                let m = SharedMap::map_range(&live.memfd, e.gpa, len, e.perms & REMOTE_WRITE != 0)
                    .map_err(|_| FabricError::Env("mapping a peer's MR"))?;
                slot.insert(m).as_ptr()
            }
        };
        Ok(RemoteMrHandle {
            mr: RemoteMr {
                peer,
                rkey: e.rkey,
                addr: e.gpa,
                len: e.len,
                perms: e.perms,
                window_gpa: va as u64,
            },
            va,
            incarnation: p.info.incarnation,
            mr_generation: p.mr_generation,
        })
    }

    fn create_cq(&self, _depth: u32) -> Result<u32, FabricError> {
        let mut st = self.lock();
        st.next_cq += 1;
        Ok(st.next_cq - 1)
    }

    fn create_qp(&self, peer: u32, _cq: u32, qpcb: u64) -> Result<u32, FabricError> {
        let mut st = self.lock();
        let qpn = st.next_qpn;
        st.next_qpn += 1;
        st.qps.insert(qpn, (peer, qpcb));
        Ok(qpn)
    }

    fn destroy_qp(&self, qpn: u32) -> Result<(), FabricError> {
        self.lock()
            .qps
            .remove(&qpn)
            .map(|_| ())
            .ok_or(FabricError::Control(CtrlStatus::NotFound))
    }

    fn ring_doorbell(&self, peer: u32) {
        if let Some(l) = self.lock().peers.get(&peer).and_then(|p| p.live.as_ref()) {
            let _ = l.wake.write(1);
        }
    }

    fn forget_stale_handles(&self, peer: u32) {
        // Unmapped outside the lock.
        let gone = self
            .lock()
            .peers
            .get_mut(&peer)
            .map(|p| std::mem::take(&mut p.retired));
        drop(gone);
    }

    fn sleep_until(&self, deadline_ns: u64) {
        let now = self.now_ns();
        let ms = deadline_ns
            .saturating_sub(now)
            .div_ceil(1_000_000)
            .min(1000) as i32;
        let mut pfd = libc::pollfd {
            fd: self.wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        unsafe { libc::poll(&mut pfd, 1, ms) };
        let _ = self.wake.read();
    }
}

// SAFETY: the raw pointers inside are into mappings this endpoint owns for its lifetime; all
// mutable state is behind the mutex.
unsafe impl Sync for HostEndpoint {}
// SAFETY: as above.
unsafe impl Send for HostEndpoint {}

#[cfg(test)]
mod tests {
    use std::os::fd::FromRawFd;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    use lego_proto::op;
    use lego_rpc::rpc::Rpc;

    use super::*;

    const B: u32 = 5;

    fn endpoint(id: u32, incarnation: u32, memfd_name: &str) -> &'static HostEndpoint {
        let (tx, _) = mpsc::channel();
        let info = PeerInfo {
            id,
            name: format!("e{id}"),
            role: 0,
            mem_bytes: 0,
            incarnation,
        };
        Box::leak(Box::new(
            HostEndpoint::with_identity(info, memfd_name, tx).expect("an endpoint"),
        ))
    }

    /// Copies of the descriptors `e` gives its peers.
    fn fds_of(e: &HostEndpoint) -> [OwnedFd; 3] {
        e.fds().map(|f| {
            // SAFETY: F_DUPFD_CLOEXEC on a descriptor the endpoint holds; the result is checked
            // and then owned by us alone.
            let fd = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
            assert!(fd >= 0, "dup: {}", std::io::Error::last_os_error());
            // SAFETY: a fresh descriptor nobody else owns.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
    }

    /// Mappings of memfd `name` in this process.
    fn mappings_of(name: &str) -> usize {
        let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
        maps.lines()
            .filter(|l| l.ends_with(&format!("/memfd:{name} (deleted)")))
            .count()
    }

    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        let give_up = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < give_up, "timed out waiting for {what}");
        }
    }

    /// The managers' endpoint talks to successive incarnations of a component (another host
    /// endpoint standing in for a guest): each death lets go of the dead one's memory at once
    /// (the mappings are gone from this process, not only unused), the engine's stale handles
    /// are released when it closes the connection, and the memory of closed connections is
    /// reused, so nothing grows with the number of restarts.
    #[test]
    fn a_dead_incarnation_is_let_go_and_reconnections_reuse_memory() {
        let tag = std::process::id();
        let a = endpoint(MANAGER_ID, 1, &format!("lego-hosttest-{tag}-a"));
        let mut rpc = Rpc::new(a).expect("the managers' engine");
        rpc.release_grace_ns = 0;
        rpc.timeout_ns = 2_000_000_000;
        let (req_addr, req_ptr) = a.alloc(4096).expect("request buffer");
        let _ = req_addr;
        // SAFETY: a page of the endpoint's memory, ours alone.
        let req = unsafe { std::slice::from_raw_parts_mut(req_ptr, 64) };
        let free_at_start = a.free_bytes();
        for k in 1..=6u32 {
            let name = format!("lego-hosttest-{tag}-b{k}");
            let b = endpoint(B, k, &name);
            a.on_peer(b.info().clone(), fds_of(b))
                .expect("introduce b to a");
            b.on_peer(a.info().clone(), fds_of(a))
                .expect("introduce a to b");
            // The component: serves echoes until it "dies".
            let stop = Arc::new(AtomicBool::new(false));
            let stop2 = stop.clone();
            let server = std::thread::spawn(move || {
                let mut r = Rpc::new(b).expect("b's engine");
                r.handle(op::ECHO, |_, req, out| {
                    out[..req.len()].copy_from_slice(req);
                    Ok(req.len())
                });
                r.connect_async(&[MANAGER_ID]).expect("b connects");
                while !stop2.load(Ordering::Relaxed) {
                    r.poll();
                    let now = b.now_ns();
                    r.idle_until(now + 1_000_000);
                }
            });
            rpc.connect_async(&[B]).expect("a connects");
            wait_for(&format!("connection {k}"), || {
                rpc.poll();
                rpc.connected(B)
            });
            assert_eq!(mappings_of(&name), 1 + 3, "b's own and a's three windows");
            req.fill(k as u8);
            let mut out = [0u8; 64];
            let n = rpc.call(B, op::ECHO, req, &mut out).expect("an echo");
            assert_eq!(&out[..n], &req[..]);

            // The component dies: its "VMM" stops, the coordinator tells the endpoint.
            stop.store(true, Ordering::Relaxed);
            server.join().expect("b's thread");
            a.on_peer_dead(B);
            let held = a.held(B);
            assert!(!held.live && held.maps == 0, "{held:?}");
            assert_eq!(
                mappings_of(&name),
                1,
                "a still maps the dead incarnation's memory"
            );
            rpc.call(B, op::ECHO, req, &mut out)
                .expect_err("a call to a dead peer");
            wait_for("the failure", || rpc.failed_peers() == [B]);
            rpc.disconnect(B);
            assert_eq!(
                a.held(B).retired,
                0,
                "placeholders unmapped once the engine let go"
            );
        }
        // Every closed connection's memory is back.
        wait_for("the memory of closed connections", || {
            rpc.poll();
            rpc.released_pending() == 0
        });
        assert_eq!(a.free_bytes(), free_at_start);
    }

    #[test]
    fn free_coalesces_and_refuses_double_frees() {
        let a = endpoint(
            MANAGER_ID,
            1,
            &format!("lego-hosttest-{}-f", std::process::id()),
        );
        let start = a.free_bytes();
        let (x, _) = a.alloc(8192).expect("x");
        let (y, _) = a.alloc(4096).expect("y");
        let (z, _) = a.alloc(4096).expect("z");
        assert_eq!(a.free_bytes(), start - 16384);
        a.free(y, 4096);
        a.free(y, 4096);
        a.free(x, 8192);
        a.free(z, 4096);
        assert_eq!(a.free_bytes(), start);
        assert_eq!(a.lock().free.len(), 1, "{:?}", a.lock().free);
        // The next allocation reuses the lowest range.
        assert_eq!(a.alloc(4096).map(|(p, _)| p), Some(x));
    }
}
