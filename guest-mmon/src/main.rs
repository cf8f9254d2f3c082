//! The memory monitor (mComponent): owns user memory (vRegions: `memory`) and the buffer cache
//! of the vNodes' files (`files`).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod files;
#[cfg(target_os = "none")]
mod memory;

#[cfg(target_os = "none")]
mod monitor {
    extern crate alloc;

    use alloc::boxed::Box;

    use guest_rt::rpc::Rpc;
    use guest_rt::service::Service;
    use guest_rt::{BootContext, MonitorReady, println};
    use lego_rpc::rpc::Deferred;

    use crate::files::Files;
    use crate::memory::Memory;

    guest_rt::monitor!(init);

    /// Both services of an mComponent, routed by opcode.
    struct Mmon {
        files: Option<Files>,
        memory: Option<Memory>,
    }

    impl Service for Mmon {
        fn install(&mut self, rpc: &mut Rpc) {
            if let Some(f) = self.files.as_mut() {
                f.install(rpc);
            }
            if let Some(m) = self.memory.as_mut() {
                m.install(rpc);
            }
        }

        fn deferred(&mut self, rpc: &mut Rpc, d: Deferred) {
            if lego_proto::mem::is_mem_op(d.opcode) {
                match self.memory.as_mut() {
                    Some(m) => m.deferred(rpc, self.files.as_mut(), d),
                    None => rpc.reply(d, Err(lego_proto::rpc::status::FAILED)),
                }
            } else {
                match self.files.as_mut() {
                    Some(f) => f.accept(rpc, d),
                    None => rpc.reply(d, Err(lego_proto::rpc::status::FAILED)),
                }
            }
        }

        fn idle(&mut self) -> u64 {
            self.files.as_mut().map_or(u64::MAX, |f| f.idle())
        }

        fn run(&mut self, rpc: &mut Rpc) -> u64 {
            // The buffer cache's long work (write-behind, fsync steps) between requests.
            self.files.as_mut().map_or(u64::MAX, |f| f.work(rpc))
        }
    }

    fn init(ctx: &BootContext) -> MonitorReady {
        // The buffer cache: `bcache_kb=` from the cluster manager, else an eighth of memory.
        let bytes = ctx
            .boot
            .cmdline_value("bcache_kb")
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(ctx.memory.free_bytes / 8, |kb| kb << 10)
            .min(ctx.memory.free_bytes / 2);
        let files = Files::new(bytes);
        if files.is_none() {
            println!("mmon: no memory for a buffer cache; file requests will fail");
        }
        let memory = Memory::new(ctx.boot.component_id());
        match &memory {
            Some(m) => println!("mmon: {} MiB of frames for vRegions", m.free_bytes() >> 20),
            None => println!("mmon: no memory for vRegions; memory requests will fail"),
        }
        MonitorReady {
            excache_bytes: 0,
            service: Some(Box::new(Mmon { files, memory })),
            worker: None,
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "guest-mmon is a guest image for x86_64-unknown-none, built by the `images` crate; \
         boot it with `lego boot --role mmon`"
    );
}
