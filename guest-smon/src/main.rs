//! The storage monitor (sComponent): the files of the vNodes it holds, on its virtual disk, as
//! a stateless file service (`storage`).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod disk;
mod memory;
#[cfg(target_os = "none")]
mod storage;

#[cfg(target_os = "none")]
mod monitor {
    extern crate alloc;

    use alloc::boxed::Box;

    use guest_rt::virtio::blk::BlkDevice;
    use guest_rt::virtio::blk_selftest;
    use guest_rt::{BootContext, MonitorReady, println};

    use crate::memory;
    use crate::storage::Storage;

    guest_rt::monitor!(init);

    fn init(ctx: &BootContext) -> MonitorReady {
        let bi = ctx.boot;
        // The metadata lives on the heap: most free frames go there.
        let grown = memory::grow_heap(bi.mem_bytes());
        let budget = memory::fs_share(guest_rt::mm::heap::available_bytes());
        println!(
            "smon: heap {} MiB ({} MiB moved from free frames), {} MiB for the filesystem",
            guest_rt::mm::heap::claimed_bytes() >> 20,
            grown >> 20,
            budget >> 20
        );
        let service = match BlkDevice::open(bi) {
            Ok(Some(mut disk)) => {
                println!("smon: disk {} MiB", (disk.block_count() * 4096) >> 20);
                if bi.cmdline_value("blk_selftest").is_some() {
                    // Testing the device itself: the filesystem stays away from it.
                    blk_selftest::selftest(&mut disk, bi);
                    None
                } else {
                    // `fs_max_file_kb=` bounds file sizes of a new filesystem (tests use it).
                    let max_file = bi
                        .cmdline_value("fs_max_file_kb")
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(|kb| kb << 10);
                    Some(Storage::open(disk, max_file, bi.mem_bytes(), budget))
                }
            }
            Ok(None) => {
                println!("smon: no disk attached");
                None
            }
            Err(e) => {
                println!("smon: disk unusable: {e}");
                None
            }
        };
        MonitorReady {
            excache_bytes: 0,
            service: service.map(|s| Box::new(s) as Box<dyn guest_rt::service::Service>),
            worker: None,
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "guest-smon is a guest image for x86_64-unknown-none, built by the `images` crate; \
         boot it with `lego boot --role smon`"
    );
}
