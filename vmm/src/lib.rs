//! The VMM: one process per LegoOS component guest.
//!
//! [`Vm::create`] turns a [`VmConfig`] into a guest ready at its first instruction: memfd-backed
//! memory registered with KVM, the monitor image loaded, page tables, GDT and boot info written,
//! every vCPU in long mode at the entry point with its own stack and index. [`Vm::run`] runs the
//! vCPU threads and reports [`VmEvent`]s until the guest powers off, faults or is stopped.
//!
//! Built on the rust-vmm crates: kvm-ioctls/kvm-bindings for KVM, vm-memory for guest memory,
//! linux-loader for ELF loading, vmm-sys-util for signals.

pub mod boot;
pub mod config;
pub mod devices;
pub mod disk;
pub mod error;
pub mod events;
pub mod fabric;
pub mod floor;
pub mod kvm;
pub mod memory;
pub mod vcpu;
pub mod vm;

pub use config::{ConsoleTarget, DiskConfig, FabricConfig, VmConfig};
pub use error::{Error, Result};
pub use events::{FaultInfo, ReadyInfo, VmEvent};
pub use vm::{Vm, install_stop_handlers, request_stop};
