//! The storage monitor (sComponent): serves files from its virtual disk. For now it boots and
//! reports ready.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod monitor {
    use guest_rt::{BootContext, MonitorReady, println};

    guest_rt::monitor!(init);

    fn init(_ctx: &BootContext) -> MonitorReady {
        println!("smon: no disk attached yet");
        MonitorReady::default()
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "guest-smon is a guest image for x86_64-unknown-none, built by the `images` crate; \
         boot it with `lego boot --role smon`"
    );
}
