//! The process monitor (pComponent): runs user threads; its memory is a small ExCache of lines
//! whose home is on memory components. For now it boots, reserves the ExCache and reports.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod monitor {
    use guest_rt::{BootContext, MonitorReady, println};

    guest_rt::monitor!(init);

    fn init(ctx: &BootContext) -> MonitorReady {
        let (gpa, len) = ctx.memory.excache;
        println!("pmon: ExCache {} MiB at {:#x}", len >> 20, gpa);
        MonitorReady {
            excache_bytes: len,
            service: None,
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
