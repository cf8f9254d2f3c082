//! The runtime shared by the three monitor guests (pmon, mmon, smon).
//!
//! A monitor is a `no_std` binary for `x86_64-unknown-none` that links this crate and names its
//! entry with [`monitor!`]. The runtime brings every vCPU up (traps, per-CPU data, memory,
//! console, timer), handles the host platform (see [`platform`]), measures itself, reports ready
//! to the VMM, and hands control to the monitor.
//!
//! Hardware-independent pieces (the frame allocator, the fault-message writer) build and are
//! unit-tested on the host too; everything that touches the CPU is `cfg(target_os = "none")`.
#![cfg_attr(target_os = "none", no_std)]

#[cfg(target_os = "none")]
extern crate alloc;

pub mod fmtbuf;
pub mod mm;

#[cfg(target_os = "none")]
pub mod arch;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod calibrate;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod fault;
#[cfg(target_os = "none")]
pub mod percpu;
#[cfg(target_os = "none")]
pub mod platform;
#[cfg(target_os = "none")]
pub mod power;
#[cfg(target_os = "none")]
pub mod rdma;
#[cfg(target_os = "none")]
pub mod rpc;
#[cfg(target_os = "none")]
mod selftest;
#[cfg(target_os = "none")]
pub mod service;
#[cfg(target_os = "none")]
pub mod smp;
#[cfg(target_os = "none")]
pub mod sync;
#[cfg(target_os = "none")]
pub mod time;
#[cfg(target_os = "none")]
pub mod virtio;

#[cfg(target_os = "none")]
pub use boot::{BootContext, MonitorReady};

/// Names the monitor's entry point: `fn(&BootContext) -> MonitorReady`, called on the boot CPU
/// once every vCPU is up, before the ready report.
#[macro_export]
macro_rules! monitor {
    ($init:path) => {
        #[unsafe(no_mangle)]
        fn __lego_monitor_init(ctx: &$crate::BootContext) -> $crate::MonitorReady {
            $init(ctx)
        }
    };
}
