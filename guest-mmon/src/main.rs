//! The memory monitor (mComponent): owns user memory (vRegions) and the buffer cache. For now it
//! boots and reports how much memory it can give out.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod monitor {
    use guest_rt::{BootContext, MonitorReady, println};

    guest_rt::monitor!(init);

    fn init(ctx: &BootContext) -> MonitorReady {
        println!(
            "mmon: {} MiB of frames for vRegions",
            ctx.memory.free_bytes >> 20
        );
        MonitorReady::default()
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "guest-mmon is a guest image for x86_64-unknown-none, built by the `images` crate; \
         boot it with `lego boot --role mmon`"
    );
}
