//! The fabric endpoint of one VMM: its guest's MRs (published in a directory peers read), the
//! peers it was introduced to (their memory mapped here, their MRs mapped into our guest as
//! memslots on lookup), queue-pair bookkeeping, doorbells, and the peer table our guest reads.
//!
//! Doorbells never involve a VMM's userspace: our wake eventfd is an irqfd (MSI to vCPU 0 at
//! `FABRIC_VECTOR`) in our VM and an ioeventfd (port `doorbell_port(us)`) in each peer's VM.

mod link;
mod peer;

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use kvm_bindings::{KVM_IRQ_ROUTING_MSI, KvmIrqRouting, kvm_irq_routing_entry};
use kvm_ioctls::VmFd;
use lego_abi::layout::FABRIC_VECTOR;
use virtio_rdma::abi::control::{Command, CtrlStatus, MrKey, RawResponse};
use virtio_rdma::abi::peers::{self, PeerState};
use virtio_rdma::abi::qpcb::{self, QpState};
use virtio_rdma::abi::{self, DeviceConfig, MAX_CQS, MAX_MRS, MAX_QPS};
use virtio_rdma::backend::directory::{DIRECTORY_BYTES, DirEntry, Directory};
use virtio_rdma::backend::wire::{self, PeerInfo, ToCoordinator};
use virtio_rdma::backend::{rkeys, shm};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};
use vmm_sys_util::eventfd::EventFd;

use crate::config::FabricConfig;
use crate::error::{Error, Result};
pub use link::spawn_link;
use peer::Peer;

/// The GSI our wake eventfd is routed through.
const WAKE_GSI: u32 = 1;

#[derive(Clone, Copy, Debug)]
struct Qp {
    peer: u32,
    cq: u32,
    qpcb_gpa: u64,
}

#[derive(Debug)]
struct State {
    /// Keys of our registered MRs, by directory slot (the directory holds the rest).
    mrs: Vec<Option<u32>>,
    cqs: Vec<Option<u32>>,
    qps: Vec<Option<Qp>>,
    peers: HashMap<u32, Peer>,
    rkey_seed: u32,
    next_slot: u32,
    free_slots: Vec<u32>,
}

/// One VMM's fabric endpoint.
#[derive(Debug)]
pub struct Fabric {
    info: PeerInfo,
    vm: Arc<VmFd>,
    mem: GuestMemoryMmap,
    mem_file: File,
    peer_table_gpa: u64,
    dir_file: File,
    dir: Directory,
    wake: EventFd,
    coord: UnixDatagram,
    config: DeviceConfig,
    state: Mutex<State>,
}

impl Fabric {
    /// Sets up the endpoint: directory, wake eventfd wired to an MSI in our VM, the peer table.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        info: PeerInfo,
        vm: Arc<VmFd>,
        mem: GuestMemoryMmap,
        mem_file: File,
        peer_table_gpa: u64,
        coord: UnixDatagram,
        cfg: &FabricConfig,
        tsc_is_host: bool,
    ) -> Result<Fabric> {
        let io = |op| move |e| Error::Io { op, source: e };
        let dir_file = shm::memfd(&format!("lego-{}-mrdir", info.name), DIRECTORY_BYTES)
            .map_err(io("creating the MR directory"))?;
        let dir =
            Directory::map(&dir_file, true, info.id).map_err(io("mapping the MR directory"))?;
        let wake = EventFd::new(libc::EFD_NONBLOCK).map_err(|e| Error::Io {
            op: "eventfd",
            source: e,
        })?;

        let mut routing =
            KvmIrqRouting::new(1).map_err(|_| Error::Memory("irq routing table".into()))?;
        let mut entry = kvm_irq_routing_entry {
            gsi: WAKE_GSI,
            type_: KVM_IRQ_ROUTING_MSI,
            ..Default::default()
        };
        entry.u.msi.address_lo = 0xfee0_0000; // fixed delivery, physical destination APIC 0
        entry.u.msi.data = u32::from(FABRIC_VECTOR);
        routing.as_mut_slice()[0] = entry;
        vm.set_gsi_routing(&routing)
            .map_err(Error::kvm("set GSI routing"))?;
        vm.register_irqfd(&wake, WAKE_GSI)
            .map_err(Error::kvm("register irqfd"))?;

        let config = DeviceConfig {
            version: abi::VERSION,
            component_id: info.id,
            max_mrs: MAX_MRS,
            max_qps: MAX_QPS,
            max_cqs: MAX_CQS,
            max_peers: abi::MAX_PEERS,
            peer_table_gpa,
            window_gpa_base: abi::WINDOW_GPA_BASE,
            window_stride: abi::WINDOW_STRIDE,
            doorbell_port_base: u32::from(abi::DOORBELL_PORT_BASE),
            irq_vector: u32::from(FABRIC_VECTOR),
            poll_mode: cfg.poll_mode as u32,
            spin_ns: cfg.spin_ns,
            net_latency_ns: cfg.net_latency_ns,
            net_bandwidth_mbps: cfg.net_bandwidth_mbps,
            tsc_is_host: u32::from(tsc_is_host),
            _pad: 0,
        };
        let seed = info.id.wrapping_mul(0x9e37_79b9)
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.subsec_nanos())
            | 1;
        let f = Fabric {
            info,
            vm,
            mem,
            mem_file,
            peer_table_gpa,
            dir_file,
            dir,
            wake,
            coord,
            config,
            state: Mutex::new(State {
                mrs: vec![None; MAX_MRS as usize],
                cqs: vec![None; MAX_CQS as usize],
                qps: vec![None; MAX_QPS as usize],
                peers: HashMap::new(),
                rkey_seed: seed,
                next_slot: 1,
                free_slots: Vec::new(),
            }),
        };
        let _ = f.mem.store(
            peers::MAGIC,
            GuestAddress(peer_table_gpa),
            Ordering::Release,
        );
        let _ = f.mem.store(
            f.info.id,
            GuestAddress(peer_table_gpa + 8),
            Ordering::Release,
        );
        Ok(f)
    }

    /// The device configuration our guest reads.
    pub fn device_config(&self) -> DeviceConfig {
        self.config
    }

    /// Introduces us to the coordinator: our memory, our directory, our doorbell.
    pub fn hello(&self) -> Result<()> {
        let fds: [&dyn AsRawFd; 3] = [&self.mem_file, &self.dir_file, &self.wake];
        wire::send(&self.coord, &ToCoordinator::Hello(self.info.clone()), &fds).map_err(|e| {
            Error::Io {
                op: "introducing this VMM to the coordinator",
                source: e,
            }
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Raises the fabric interrupt in our guest.
    pub fn kick_guest(&self) {
        let _ = self.wake.write(1);
    }

    fn write_peer_entry(&self, id: u32, e: &peers::PeerEntry) {
        let at = self.peer_table_gpa + peers::entry_offset(id);
        let _ = self
            .mem
            .write_slice(zerocopy::IntoBytes::as_bytes(e), GuestAddress(at));
        let gen_at = GuestAddress(self.peer_table_gpa + peers::GENERATION_OFF);
        let g: u32 = self.mem.load(gen_at, Ordering::Acquire).unwrap_or(0);
        let _ = self.mem.store(g.wrapping_add(1), gen_at, Ordering::Release);
    }

    fn alloc_slot(st: &mut State) -> u32 {
        st.free_slots.pop().unwrap_or_else(|| {
            st.next_slot += 1;
            st.next_slot - 1
        })
    }

    /// Executes one control command.
    pub fn execute(&self, cmd: Command) -> RawResponse {
        let mut st = self.lock();
        match cmd {
            Command::QueryDevice => {
                fn count<T>(v: &[Option<T>]) -> u64 {
                    v.iter().flatten().count() as u64
                }
                let up: u64 = st
                    .peers
                    .values()
                    .filter(|p| p.alive)
                    .fold(0, |m, p| m | (1 << p.info.id));
                RawResponse::ok(&[
                    u64::from(abi::VERSION),
                    count(&st.mrs),
                    count(&st.qps),
                    count(&st.cqs),
                    up,
                ])
            }
            Command::RegMr {
                gpa,
                len,
                perms,
                tag,
            } => {
                if gpa.checked_add(len).is_none_or(|end| end > self.mem_size()) {
                    return RawResponse::err(CtrlStatus::BadAddress);
                }
                let Some(slot) = st.mrs.iter().position(Option::is_none) else {
                    return RawResponse::err(CtrlStatus::NoResources);
                };
                let s = &mut *st;
                let rkey = rkeys::next_rkey(&mut s.rkey_seed, &s.mrs);
                st.mrs[slot] = Some(rkey);
                self.dir.publish(
                    slot as u32,
                    DirEntry {
                        rkey,
                        tag,
                        perms,
                        gpa,
                        len,
                    },
                );
                RawResponse::ok(&[u64::from(rkey)])
            }
            Command::DeregMr { rkey } => {
                let Some(slot) = st.mrs.iter().position(|m| *m == Some(rkey)) else {
                    return RawResponse::err(CtrlStatus::NotFound);
                };
                st.mrs[slot] = None;
                self.dir.revoke(slot as u32);
                let _ = wire::send(&self.coord, &ToCoordinator::MrRevoked { rkey }, &[]);
                RawResponse::ok(&[])
            }
            Command::LookupMr { peer, key } => self.lookup(&mut st, peer, key),
            Command::CreateCq { depth } => match st.cqs.iter().position(Option::is_none) {
                Some(i) => {
                    st.cqs[i] = Some(depth);
                    RawResponse::ok(&[i as u64])
                }
                None => RawResponse::err(CtrlStatus::NoResources),
            },
            Command::DestroyCq { cq } => {
                if st.qps.iter().flatten().any(|q| q.cq == cq) {
                    return RawResponse::err(CtrlStatus::Invalid);
                }
                match st.cqs.get_mut(cq as usize) {
                    Some(c @ Some(_)) => {
                        *c = None;
                        RawResponse::ok(&[])
                    }
                    _ => RawResponse::err(CtrlStatus::NotFound),
                }
            }
            Command::CreateQp { peer, cq, qpcb_gpa } => {
                if st.cqs.get(cq as usize).is_none_or(Option::is_none) {
                    return RawResponse::err(CtrlStatus::NotFound);
                }
                if qpcb_gpa
                    .checked_add(qpcb::QPCB_BYTES)
                    .is_none_or(|end| end > self.mem_size())
                {
                    return RawResponse::err(CtrlStatus::BadAddress);
                }
                if peer == self.info.id {
                    return RawResponse::err(CtrlStatus::Invalid);
                }
                match st.qps.iter().position(Option::is_none) {
                    Some(i) => {
                        st.qps[i] = Some(Qp { peer, cq, qpcb_gpa });
                        RawResponse::ok(&[i as u64])
                    }
                    None => RawResponse::err(CtrlStatus::NoResources),
                }
            }
            Command::DestroyQp { qpn } => match st.qps.get_mut(qpn as usize) {
                Some(q @ Some(_)) => {
                    *q = None;
                    RawResponse::ok(&[])
                }
                _ => RawResponse::err(CtrlStatus::NotFound),
            },
        }
    }

    fn mem_size(&self) -> u64 {
        self.info.mem_bytes
    }

    fn lookup(&self, st: &mut State, peer: u32, key: MrKey) -> RawResponse {
        let Some(p) = st.peers.get(&peer) else {
            return RawResponse::err(CtrlStatus::PeerDown);
        };
        if !p.alive {
            return RawResponse::err(CtrlStatus::PeerDown);
        }
        let Some(dir) = p.dir() else {
            return RawResponse::err(CtrlStatus::PeerDown);
        };
        let found = match key {
            MrKey::Tag(t) => dir.find_tag(t),
            MrKey::Rkey(k) => dir.find_rkey(k),
        };
        let Some(e) = found else {
            return RawResponse::err(CtrlStatus::NotFound);
        };
        if e.gpa
            .checked_add(e.len)
            .is_none_or(|end| end > p.info.mem_bytes)
            || e.len == 0
        {
            return RawResponse::err(CtrlStatus::NotFound);
        }
        let incarnation = u64::from(p.info.incarnation);
        if let Some(m) = p.mapped.get(&e.rkey) {
            let w = m.window;
            return RawResponse::ok(&[
                u64::from(e.rkey),
                e.gpa,
                e.len,
                u64::from(e.perms),
                w,
                incarnation,
            ]);
        }
        let slot = Self::alloc_slot(st);
        let Some(p) = st.peers.get_mut(&peer) else {
            return RawResponse::err(CtrlStatus::PeerDown);
        };
        match p.map_mr(&self.vm, slot, e) {
            Ok(window) => RawResponse::ok(&[
                u64::from(e.rkey),
                e.gpa,
                e.len,
                u64::from(e.perms),
                window,
                incarnation,
            ]),
            Err(status) => {
                st.free_slots.push(slot);
                RawResponse::err(status)
            }
        }
    }

    /// A peer is up (from the coordinator).
    pub fn on_peer(&self, info: PeerInfo, fds: Vec<std::os::fd::OwnedFd>) {
        if info.id >= abi::MAX_PEERS || info.id == self.info.id {
            return;
        }
        let mut st = self.lock();
        if let Some(mut old) = st.peers.remove(&info.id) {
            let freed = old.detach(&self.vm);
            st.free_slots.extend(freed);
        }
        let peer = match Peer::attach(&self.vm, info.clone(), fds) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("cannot attach peer {}: {e}", info.name);
                return;
            }
        };
        let entry = peer.entry();
        st.peers.insert(info.id, peer);
        drop(st);
        self.write_peer_entry(info.id, &entry);
        self.kick_guest();
    }

    /// A peer failed: unmap its memory from our guest and from this process (so the host frees
    /// it), fail our queue pairs to it, tell the guest.
    pub fn on_peer_dead(&self, id: u32, incarnation: u32) {
        let mut st = self.lock();
        let Some(p) = st.peers.get_mut(&id) else {
            return;
        };
        if p.info.incarnation != incarnation || !p.alive {
            return;
        }
        p.alive = false;
        let freed = p.detach(&self.vm);
        let mut entry = p.entry();
        st.free_slots.extend(freed);
        for q in st.qps.iter().flatten().filter(|q| q.peer == id) {
            let at = GuestAddress(q.qpcb_gpa + qpcb::STATE_OFF);
            let _ = self.mem.store(QpState::Error as u32, at, Ordering::Release);
        }
        drop(st);
        entry.state = PeerState::Dead as u32;
        self.write_peer_entry(id, &entry);
        self.kick_guest();
    }

    /// A peer revoked an MR: unmap it if we mapped it, make the guest redo its lookups.
    pub fn on_revoked(&self, id: u32, rkey: u32) {
        let mut st = self.lock();
        let Some(p) = st.peers.get_mut(&id) else {
            return;
        };
        let freed = p.unmap_mr(&self.vm, rkey);
        let mut entry = p.entry();
        p.mr_generation = p.mr_generation.wrapping_add(1);
        entry.mr_generation = p.mr_generation;
        st.free_slots.extend(freed);
        drop(st);
        self.write_peer_entry(id, &entry);
        self.kick_guest();
    }
}
