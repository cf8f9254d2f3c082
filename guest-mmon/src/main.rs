//! The memory monitor (mComponent): owns user memory (vRegions) and the buffer cache of the
//! vNodes' files (`files`).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod files;

#[cfg(target_os = "none")]
mod monitor {
    extern crate alloc;

    use alloc::boxed::Box;

    use guest_rt::{BootContext, MonitorReady, println};

    use crate::files::Files;

    guest_rt::monitor!(init);

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
        println!(
            "mmon: {} MiB of frames for vRegions",
            guest_rt::mm::FRAMES.lock().free_bytes() >> 20
        );
        MonitorReady {
            excache_bytes: 0,
            service: files.map(|f| Box::new(f) as Box<dyn guest_rt::service::Service>),
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
