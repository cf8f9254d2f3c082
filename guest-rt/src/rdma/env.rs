//! The guest side of `lego_rpc::Env`: fabric addresses are guest-physical; memory comes from the
//! frame allocator; sleeping is halting until an interrupt (a doorbell, the timer, a peer-table
//! change).

use lego_rpc::{Env, FabricError, LocalMr, RemoteMrHandle};
use virtio_rdma::abi::PollMode;
use virtio_rdma::abi::control::{Command, MrKey};
use virtio_rdma::abi::netmodel::LinkModel;
use virtio_rdma::abi::peers::PeerState;

use super::device::Device;
use crate::arch::pause;
use crate::mm::{FRAMES, alloc_zeroed, phys_to_virt, virt_to_phys};
use crate::{platform, time};

impl Env for Device {
    fn id(&self) -> u32 {
        self.config().component_id
    }

    fn poll_mode(&self) -> PollMode {
        PollMode::from_u32(self.config().poll_mode).unwrap_or(PollMode::Adaptive)
    }

    fn spin_ns(&self) -> u64 {
        u64::from(self.config().spin_ns)
    }

    fn reply_spin_ns(&self) -> u64 {
        // A sleeping guest is woken by an interrupt: 30-60 us on PVM (PLATFORM.md), more than
        // most replies take. Poll for a reply up to 8 idle budgets (400 us by default).
        self.spin_ns().saturating_mul(8)
    }

    fn model(&self) -> LinkModel {
        *self.link_model()
    }

    fn now_ns(&self) -> u64 {
        time::now_ns()
    }

    fn peer_state(&self, peer: u32) -> PeerState {
        Device::peer_state(self, peer)
    }

    fn peer_incarnation(&self, peer: u32) -> u32 {
        Device::peer_incarnation(self, peer)
    }

    fn peer_mr_generation(&self, peer: u32) -> u32 {
        Device::peer_mr_generation(self, peer)
    }

    fn alloc(&self, bytes: u64) -> Option<(u64, *mut u8)> {
        let pa = alloc_zeroed(bytes.div_ceil(4096))?;
        Some((pa, phys_to_virt(pa)))
    }

    fn free(&self, addr: u64, bytes: u64) {
        // A range the frame allocator refuses (misaligned, overlapping) is simply not reused.
        let _ = FRAMES.lock().free(addr, bytes.div_ceil(4096));
    }

    fn local(&self, addr: u64, len: u64) -> Option<*mut u8> {
        self.is_ram(addr, len).then(|| phys_to_virt(addr))
    }

    fn fabric_addr(&self, p: *const u8) -> Option<u64> {
        virt_to_phys(p as u64)
    }

    fn reg_mr(&self, p: *mut u8, len: u64, perms: u32, tag: u32) -> Result<LocalMr, FabricError> {
        Device::reg_mr(self, p, len, perms, tag)
    }

    fn lookup(&self, peer: u32, key: MrKey) -> Result<RemoteMrHandle, FabricError> {
        Device::lookup(self, peer, key)
    }

    fn dereg_mr(&self, mr: &LocalMr) -> Result<(), FabricError> {
        Device::dereg_mr(self, mr)
    }

    fn destroy_qp(&self, qpn: u32) -> Result<(), FabricError> {
        self.control(Command::DestroyQp { qpn }).map(|_| ())
    }

    fn create_cq(&self, depth: u32) -> Result<u32, FabricError> {
        Ok(self.control(Command::CreateCq { depth })?[0] as u32)
    }

    fn create_qp(&self, peer: u32, cq: u32, qpcb: u64) -> Result<u32, FabricError> {
        Ok(self.control(Command::CreateQp {
            peer,
            cq,
            qpcb_gpa: qpcb,
        })?[0] as u32)
    }

    fn ring_doorbell(&self, peer: u32) {
        Device::ring_doorbell(self, peer);
    }

    fn sleep_until(&self, deadline_ns: u64) {
        let now = time::now_ns();
        let ns = deadline_ns.saturating_sub(now).min(1_000_000_000);
        time::arm_wakeup(crate::arch::rdtsc() + time::ns_to_ticks(ns));
        platform::halt_until_interrupt();
    }

    fn relax(&self) {
        pause();
    }
}
