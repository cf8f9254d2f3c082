//! virtio-rdma: the fabric between LegoOS component guests.
//!
//! The shape of RDMA on one host. Each guest's memory is a memfd; a region a guest *registers*
//! (an MR) is mapped, by the peer's VMM, into the peer VM's physical address space as its own KVM
//! memslot (read-only when the MR allows no remote writes), at a *window* address. One-sided
//! WRITE and READ are then copies the initiating guest's driver performs itself into or out of
//! the window; WRITE_WITH_IMM and SEND also publish a completion into the target's queue-pair
//! control block (QPCB), a ring in the target's memory that the target polls, and ring the
//! target's doorbell (an ioeventfd in the initiator's KVM wired to an irqfd in the target's KVM)
//! only if the target said it is going to sleep. The data path never exits to a VMM's userspace.
//!
//! The control path (registering MRs, looking up a peer's MR, creating CQs and QPs) is a
//! virtio-mmio device with one control queue, served by the VMM.
//!
//! [`abi`] is the `no_std` contract shared by the guest driver and the VMM; [`backend`] (feature
//! `backend`) is the VMM side that is independent of KVM: the MR directory that VMMs share, the
//! window allocator, and the coordinator protocol.
#![cfg_attr(not(any(test, feature = "backend")), no_std)]

pub mod abi;

#[cfg(feature = "backend")]
pub mod backend;
