//! How much memory the filesystem gets. The sComponent's work lives on the heap (its metadata:
//! names, inodes, extent maps), not in page frames, so at boot it moves most free frames into
//! the heap, keeping enough for what comes after (the fabric's rings, one per peer, and the
//! devices' queues), and gives the filesystem most of what the heap has free.
// The arithmetic is host-tested; only the guest build uses it.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

/// Frames left free for the fabric and devices: a quarter of memory, 8 to 32 MiB (a peer's
/// rings take ~260 KiB, the RPC reply slots ~2 MiB).
pub fn frames_kept(mem: u64) -> u64 {
    (mem / 4).clamp(8 << 20, 32 << 20)
}

/// The filesystem's share of `free` heap bytes: three quarters, less 1 MiB (the rest is for
/// the RPC engine's buffers, and for the heap's fragmentation: a table's buckets must be one
/// contiguous block).
pub fn fs_share(free: u64) -> u64 {
    (free / 4 * 3).saturating_sub(1 << 20)
}

/// Grows the heap (see the module docs); returns the bytes added.
#[cfg(target_os = "none")]
pub fn grow_heap(mem: u64) -> u64 {
    guest_rt::mm::grow_heap(u64::MAX, frames_kept(mem))
}

/// The smallest `--smon-mem` (MiB, a multiple of 32) that would give the filesystem `needed`
/// bytes, from what this one (`mem` bytes, `budget` for the filesystem) gets: every byte more
/// becomes heap, but for the frames kept.
pub fn mem_for(needed: u64, mem: u64, budget: u64) -> u64 {
    let mut m = mem.div_ceil(32 << 20) * (32 << 20);
    while m < (1 << 40) {
        let more = (m - mem).saturating_sub(frames_kept(m) - frames_kept(mem));
        if budget + more / 4 * 3 >= needed {
            break;
        }
        m += 32 << 20;
    }
    m >> 20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_the_memory_to_ask_for() {
        assert_eq!(frames_kept(32 << 20), 8 << 20);
        assert_eq!(frames_kept(1 << 30), 32 << 20);
        assert_eq!(fs_share(8 << 20), 5 << 20);
        // A budget of 60 MiB at 128 MiB: 100 MiB needs 64 MiB more of budget.
        let m = mem_for(100 << 20, 128 << 20, 60 << 20);
        assert!(m > 128 && m.is_multiple_of(32), "{m}");
        let more = (m << 20) - (128 << 20);
        assert!((60 << 20) + more / 4 * 3 >= 100 << 20);
        assert_eq!(mem_for(10 << 20, 128 << 20, 60 << 20), 128);
    }
}
