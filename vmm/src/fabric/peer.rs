//! A peer as this VMM sees it: its guest memory mapped here, its MR directory, its doorbell
//! registered in our VM, and which of its MRs are mapped into our guest (one memslot each).
//! When the peer dies all of that is let go at once (its memslots removed, its memory and
//! directory unmapped, its doorbell closed): a dead component's memory is freed by the host as
//! soon as its own VMM is gone, not when it is next restarted.

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use kvm_bindings::{KVM_MEM_READONLY, kvm_userspace_memory_region};
use kvm_ioctls::{IoEventAddress, NoDatamatch, VmFd};
use virtio_rdma::abi::control::CtrlStatus;
use virtio_rdma::abi::doorbell_port;
use virtio_rdma::abi::mr::REMOTE_WRITE;
use virtio_rdma::abi::peers::{PeerEntry, PeerState};
use virtio_rdma::backend::directory::{DirEntry, Directory};
use virtio_rdma::backend::shm::{SharedMap, fd_size};
use virtio_rdma::backend::windows::WindowSpace;
use virtio_rdma::backend::wire::PeerInfo;
use vmm_sys_util::eventfd::EventFd;

/// One of the peer's MRs mapped into our guest.
#[derive(Debug, Clone, Copy)]
pub struct Mapped {
    pub slot: u32,
    pub window: u64,
    pub len: u64,
}

/// What we hold of a live peer.
#[derive(Debug)]
struct Attached {
    dir: Directory,
    memory: SharedMap,
    doorbell: EventFd,
}

/// A peer.
#[derive(Debug)]
pub struct Peer {
    pub info: PeerInfo,
    pub alive: bool,
    pub mr_generation: u32,
    pub mapped: HashMap<u32, Mapped>,
    /// `None` once the peer died ([`Peer::detach`]).
    attached: Option<Attached>,
    windows: WindowSpace,
}

impl Peer {
    /// Maps a peer from the descriptors the coordinator passed: memory, directory, wake eventfd.
    pub fn attach(vm: &VmFd, info: PeerInfo, fds: Vec<OwnedFd>) -> std::io::Result<Peer> {
        let [memfd, dirfd, wakefd]: [OwnedFd; 3] = fds.try_into().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "peer needs 3 descriptors")
        })?;
        let size = fd_size(&memfd)?;
        if size != info.mem_bytes || size == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "peer memory size mismatch",
            ));
        }
        let len = usize::try_from(size)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
        let memory = SharedMap::map(&memfd, len, true)?;
        let dir = Directory::map(&dirfd, false, 0)?;
        // SAFETY: `wakefd` is an eventfd the coordinator passed us; we take ownership.
        let doorbell = unsafe {
            <EventFd as std::os::fd::FromRawFd>::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(
                wakefd,
            ))
        };
        vm.register_ioevent(
            &doorbell,
            &IoEventAddress::Pio(u64::from(doorbell_port(info.id))),
            NoDatamatch,
        )
        .map_err(|e| std::io::Error::from_raw_os_error(e.errno()))?;
        Ok(Peer {
            windows: WindowSpace::new(info.id),
            info,
            alive: true,
            mr_generation: 0,
            mapped: HashMap::new(),
            attached: Some(Attached {
                dir,
                memory,
                doorbell,
            }),
        })
    }

    /// Its MR directory, while it is attached.
    pub fn dir(&self) -> Option<&Directory> {
        self.attached.as_ref().map(|a| &a.dir)
    }

    /// Its peer-table entry (state up).
    pub fn entry(&self) -> PeerEntry {
        let mut name = [0u8; 16];
        let n = self.info.name.len().min(15);
        name[..n].copy_from_slice(&self.info.name.as_bytes()[..n]);
        PeerEntry {
            state: PeerState::Up as u32,
            incarnation: self.info.incarnation,
            role: self.info.role,
            mr_generation: self.mr_generation,
            name,
        }
    }

    /// Maps MR `e` into our guest at a fresh window as memslot `slot`.
    pub fn map_mr(&mut self, vm: &VmFd, slot: u32, e: DirEntry) -> Result<u64, CtrlStatus> {
        let Some(a) = self.attached.as_ref() else {
            return Err(CtrlStatus::PeerDown);
        };
        let host = a.memory.as_ptr() as u64 + e.gpa;
        let window = self.windows.alloc(e.len).ok_or(CtrlStatus::NoResources)?;
        let region = kvm_userspace_memory_region {
            slot,
            flags: if e.perms & REMOTE_WRITE == 0 {
                KVM_MEM_READONLY
            } else {
                0
            },
            guest_phys_addr: window,
            memory_size: e.len,
            userspace_addr: host,
        };
        // SAFETY: `host..host + len` lies inside the peer's memory mapping (the caller checked
        // `gpa + len <= mem_bytes`), which stays mapped until the slot is removed (`detach`
        // removes every slot before it drops the mapping).
        if let Err(err) = unsafe { vm.set_user_memory_region(region) } {
            tracing::warn!("mapping MR {:#x} of {}: {err}", e.rkey, self.info.name);
            self.windows.free(window, e.len);
            return Err(CtrlStatus::NoResources);
        }
        self.mapped.insert(
            e.rkey,
            Mapped {
                slot,
                window,
                len: e.len,
            },
        );
        Ok(window)
    }

    fn remove_slot(vm: &VmFd, m: &Mapped) {
        let region = kvm_userspace_memory_region {
            slot: m.slot,
            flags: 0,
            guest_phys_addr: m.window,
            memory_size: 0,
            userspace_addr: 0,
        };
        // SAFETY: a zero-size region deletes the slot; no memory is referenced.
        let _ = unsafe { vm.set_user_memory_region(region) };
    }

    /// Unmaps one MR; returns the freed memslot.
    pub fn unmap_mr(&mut self, vm: &VmFd, rkey: u32) -> Vec<u32> {
        match self.mapped.remove(&rkey) {
            Some(m) => {
                Self::remove_slot(vm, &m);
                self.windows.free(m.window, m.len);
                vec![m.slot]
            }
            None => Vec::new(),
        }
    }

    /// Lets go of the peer: removes every memslot onto its memory, unregisters and closes its
    /// doorbell, unmaps its memory and directory. Returns the freed memslots.
    pub fn detach(&mut self, vm: &VmFd) -> Vec<u32> {
        let keys: Vec<u32> = self.mapped.keys().copied().collect();
        let slots = keys
            .into_iter()
            .flat_map(|k| self.unmap_mr(vm, k))
            .collect();
        // The slots are gone: nothing refers to the mapping any more.
        if let Some(a) = self.attached.take() {
            let _ = vm.unregister_ioevent(
                &a.doorbell,
                &IoEventAddress::Pio(u64::from(doorbell_port(self.info.id))),
                NoDatamatch,
            );
        }
        slots
    }
}
