//! The device: configuration, control channel, peer table, the network model, doorbells.

use lego_abi::boot::BootInfo;
use virtio_rdma::abi::control::{Command, MrKey};
use virtio_rdma::abi::mr::REMOTE_WRITE;
use virtio_rdma::abi::netmodel::LinkModel;
use virtio_rdma::abi::peers::{self, PeerState};

use virtio_rdma::abi::{DEVICE_ID, DeviceConfig, doorbell_port};

use super::control::Control;
use crate::arch::outb;
use crate::mm::{map_io, phys_to_virt, virt_to_phys};
use crate::sync::IrqMutex;
use lego_rpc::{FabricError, LocalMr, RemoteMrHandle, u32_at};
use virtio_rdma::abi::mr::RemoteMr;

/// The fabric device of this guest.
#[derive(Debug)]
pub struct Device {
    config: DeviceConfig,
    control: IrqMutex<Control>,
    peer_table: *mut u8,
    mem_bytes: u64,
    model: LinkModel,
}

// SAFETY: `peer_table` points at a page of our RAM the VMM writes; it is only read, with atomics.
unsafe impl Sync for Device {}
// SAFETY: as above.
unsafe impl Send for Device {}

static DEVICE: spin::Once<Device> = spin::Once::new();

/// Brings up the fabric device if the VMM attached one.
pub fn init(bi: &BootInfo) -> Result<&'static Device, FabricError> {
    let desc = bi.device(DEVICE_ID).ok_or(FabricError::NoDevice)?;
    let (control, config) = Control::open(desc.mmio_gpa)?;
    let model = if config.tsc_is_host != 0 {
        LinkModel {
            latency_ns: u64::from(config.net_latency_ns),
            bandwidth_mbps: u64::from(config.net_bandwidth_mbps),
        }
    } else {
        LinkModel::default()
    };
    let dev = Device {
        config,
        control: IrqMutex::new(control),
        peer_table: phys_to_virt(config.peer_table_gpa),
        mem_bytes: bi.mem_bytes(),
        model,
    };
    Ok(DEVICE.call_once(|| dev))
}

/// The device, once [`init`] succeeded.
pub fn device() -> Option<&'static Device> {
    DEVICE.get()
}

impl Device {
    /// Its configuration.
    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    /// The network model (off unless configured and timestamps are comparable).
    pub fn link_model(&self) -> &LinkModel {
        &self.model
    }

    /// Runs a control command.
    pub fn control(&self, cmd: Command) -> Result<[u64; 7], FabricError> {
        self.control.lock().run(cmd)
    }

    fn peer_word(&self, peer: u32, field: u64) -> u32 {
        if peer >= self.config.max_peers {
            return 0;
        }
        // SAFETY: the peer table page is ours (RAM, direct map); entries are 4-aligned.
        unsafe { u32_at(self.peer_table, peers::entry_offset(peer) + field) }
            .load(core::sync::atomic::Ordering::Acquire)
    }

    /// A peer's state.
    pub fn peer_state(&self, peer: u32) -> PeerState {
        PeerState::from_u32(self.peer_word(peer, 0))
    }

    /// A peer's incarnation.
    pub fn peer_incarnation(&self, peer: u32) -> u32 {
        self.peer_word(peer, 4)
    }

    /// A peer's MR generation (bumped when it revokes an MR).
    pub fn peer_mr_generation(&self, peer: u32) -> u32 {
        self.peer_word(peer, 12)
    }

    /// The peer table's generation (bumped on every change).
    pub fn peers_generation(&self) -> u32 {
        // SAFETY: as in `peer_word`.
        unsafe { u32_at(self.peer_table, peers::GENERATION_OFF) }
            .load(core::sync::atomic::Ordering::Acquire)
    }

    /// Registers `[va, va + len)` of our RAM (page aligned) with `perms` under `tag`.
    pub fn reg_mr(
        &self,
        va: *mut u8,
        len: u64,
        perms: u32,
        tag: u32,
    ) -> Result<LocalMr, FabricError> {
        let pa = virt_to_phys(va as u64).ok_or(FabricError::BadAddress)?;
        if !pa.is_multiple_of(4096)
            || !len.is_multiple_of(4096)
            || len == 0
            || pa + len > self.mem_bytes
        {
            return Err(FabricError::BadAddress);
        }
        let v = self.control(Command::RegMr {
            gpa: pa,
            len,
            perms,
            tag,
        })?;
        Ok(LocalMr {
            rkey: v[0] as u32,
            pa,
            va,
            len,
            perms,
            tag,
        })
    }

    /// Withdraws a region: peers lose access.
    pub fn dereg_mr(&self, mr: &LocalMr) -> Result<(), FabricError> {
        self.control(Command::DeregMr { rkey: mr.rkey }).map(|_| ())
    }

    /// Finds a peer's MR and maps it here.
    pub fn lookup(&self, peer: u32, key: MrKey) -> Result<RemoteMrHandle, FabricError> {
        let v = self.control(Command::LookupMr { peer, key })?;
        let mr = RemoteMr {
            peer,
            rkey: v[0] as u32,
            addr: v[1],
            len: v[2],
            perms: v[3] as u32,
            window_gpa: v[4],
        };
        let va = map_io(
            mr.window_gpa,
            mr.len.next_multiple_of(4096),
            mr.perms & REMOTE_WRITE != 0,
        )?;
        Ok(RemoteMrHandle {
            mr,
            va,
            incarnation: v[5] as u32,
            mr_generation: self.peer_mr_generation(peer),
        })
    }

    /// Rings `peer`'s doorbell (an ioeventfd in our KVM wired to the peer's irqfd).
    pub fn ring_doorbell(&self, peer: u32) {
        outb(doorbell_port(peer), 1);
    }

    /// Whether guest-physical `[pa, pa + len)` is our RAM.
    pub fn is_ram(&self, pa: u64, len: u64) -> bool {
        pa.checked_add(len).is_some_and(|end| end <= self.mem_bytes)
    }
}
