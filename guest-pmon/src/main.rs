//! The process monitor (pComponent): runs user programs whose memory lives on memory
//! components, with a small ExCache of their lines here (LegoOS §4.3, §5.1).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod eventfd;
#[cfg(target_os = "none")]
mod excache;
#[cfg(target_os = "none")]
mod exec;
#[cfg(target_os = "none")]
mod family;
#[cfg(target_os = "none")]
mod fd;
#[cfg(target_os = "none")]
mod parallel;
#[cfg(target_os = "none")]
mod pipe;
#[cfg(target_os = "none")]
mod process;
#[cfg(target_os = "none")]
mod procfs;
#[cfg(target_os = "none")]
mod ps;
#[cfg(target_os = "none")]
mod service;
#[cfg(target_os = "none")]
mod signal;
#[cfg(target_os = "none")]
mod stats;
#[cfg(target_os = "none")]
mod syscall;
#[cfg(target_os = "none")]
mod thread;
#[cfg(target_os = "none")]
mod worker;

#[cfg(target_os = "none")]
mod monitor {
    extern crate alloc;

    use alloc::boxed::Box;

    use guest_rt::{BootContext, MonitorReady, println};

    guest_rt::monitor!(init);

    fn init(ctx: &BootContext) -> MonitorReady {
        let (gpa, len) = ctx.memory.excache;
        println!("pmon: ExCache {} MiB at {:#x}", len >> 20, gpa);
        let manager = ctx
            .boot
            .cmdline_value("manager")
            .and_then(|m| m.parse().ok())
            .unwrap_or(u32::MAX);
        MonitorReady {
            excache_bytes: len,
            service: Some(Box::new(crate::service::Pmon::new((gpa, len), manager))),
            // The other vCPUs run user threads in parallel.
            worker: Some(crate::worker::main),
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "guest-pmon is a guest image for x86_64-unknown-none, built by the `images` crate; \
         boot it with `lego boot --role pmon`"
    );
}
