//! The managers' endpoint on the fabric: the host process joins the fabric as a component of
//! its own ([`MANAGER_ID`]), so the global managers speak the same RPC as the monitors.
//!
//! It looks to every VMM like any peer (a memory memfd, an MR directory, a doorbell eventfd),
//! and implements `lego_rpc::Env` over them: fabric addresses are offsets into its memfd; a
//! peer's MR is mapped here with `mmap` of that range of the peer's memfd, read-only unless the
//! MR allows remote writes; a doorbell is a write to the peer's eventfd (its irqfd).

use std::collections::HashMap;
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

#[derive(Debug)]
struct Peer {
    info: PeerInfo,
    state: PeerState,
    mr_generation: u32,
    memfd: OwnedFd,
    dir: Directory,
    wake: EventFd,
    maps: HashMap<u32, SharedMap>,
    /// Mappings of revoked MRs and dead incarnations: kept, because handles into them may
    /// still be held (writes into a dead peer's memory are harmless).
    retired: Vec<SharedMap>,
}

#[derive(Debug)]
struct State {
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
        let mem_file = shm::memfd(&format!("lego-{cluster}-managers"), MEM_BYTES)?;
        let mem = SharedMap::map(&mem_file, MEM_BYTES as usize, true)?;
        let dir_file = shm::memfd(&format!("lego-{cluster}-managers-mrdir"), DIRECTORY_BYTES)?;
        let dir = Directory::map(&dir_file, true, MANAGER_ID)?;
        let wake = EventFd::new(libc::EFD_NONBLOCK)?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(7, |d| d.subsec_nanos())
            | 1;
        Ok(HostEndpoint {
            info: PeerInfo {
                id: MANAGER_ID,
                name: "managers".into(),
                role: 0,
                mem_bytes: MEM_BYTES,
                incarnation: 1,
            },
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
        let retired = st
            .peers
            .remove(&info.id)
            .map(|p| p.retired.into_iter().chain(p.maps.into_values()).collect())
            .unwrap_or_default();
        st.peers.insert(
            info.id,
            Peer {
                info,
                state: PeerState::Up,
                mr_generation: 0,
                memfd,
                dir,
                wake,
                maps: HashMap::new(),
                retired,
            },
        );
        drop(st);
        self.kick();
        Ok(())
    }

    /// A component failed: fail our queue pairs to it.
    pub fn on_peer_dead(&self, id: u32) {
        let mut st = self.lock();
        let Some(p) = st.peers.get_mut(&id) else {
            return;
        };
        p.state = PeerState::Dead;
        let maps: Vec<SharedMap> = p.maps.drain().map(|(_, m)| m).collect();
        p.retired.extend(maps);
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
                p.retired.push(m);
            }
            p.mr_generation = p.mr_generation.wrapping_add(1);
        }
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
        MANAGER_ID
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
        if p.state != PeerState::Up {
            return Err(FabricError::Control(CtrlStatus::PeerDown));
        }
        let e = match key {
            MrKey::Tag(t) => p.dir.find_tag(t),
            MrKey::Rkey(k) => p.dir.find_rkey(k),
        }
        .ok_or(FabricError::Control(CtrlStatus::NotFound))?;
        if e.gpa
            .checked_add(e.len)
            .is_none_or(|end| end > p.info.mem_bytes)
            || e.len == 0
        {
            return Err(FabricError::Control(CtrlStatus::NotFound));
        }
        if !p.maps.contains_key(&e.rkey) {
            let len = usize::try_from(e.len).map_err(|_| FabricError::BadAddress)?;
            let m = SharedMap::map_range(&p.memfd, e.gpa, len, e.perms & REMOTE_WRITE != 0)
                .map_err(|_| FabricError::Env("mapping a peer's MR"))?;
            p.maps.insert(e.rkey, m);
        }
        let va = p
            .maps
            .get(&e.rkey)
            .map(SharedMap::as_ptr)
            .ok_or(FabricError::Env("mapping a peer's MR"))?;
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
        if let Some(p) = self.lock().peers.get(&peer) {
            let _ = p.wake.write(1);
        }
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
