//! The physical layout of a guest: where the kernel, boot stacks, console ring and ExCache go,
//! and the memory map handed to the guest. Pure arithmetic, unit-tested.

use lego_abi::boot::{MemRegion, RegionKind};
use lego_abi::layout::{BOOT_AREA_START, BOOT_STACK_SIZE, KERNEL_PHYS_BASE, PAGE_SIZE};

use crate::error::ConfigError;

/// Console ring bytes (header included).
pub const CONSOLE_RING_BYTES: u64 = 64 << 10;
/// Usable memory a guest needs beyond its boot structures (heap minimum and some frames).
pub const MIN_USABLE_BYTES: u64 = 8 << 20;

/// Where everything goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Guest memory size.
    pub mem_bytes: u64,
    /// Boot stacks: first stack's physical start; vCPU `i`'s stack is `stacks + i * size`.
    pub stacks: u64,
    /// Per-vCPU stack size.
    pub stack_size: u64,
    /// Console ring physical start.
    pub console: u64,
    /// Console ring length.
    pub console_len: u64,
    /// The fabric's peer table page.
    pub peer_table: u64,
    /// ExCache `(start, len)`; `len` 0 when none.
    pub excache: (u64, u64),
    /// The memory map for the guest.
    pub regions: Vec<MemRegion>,
}

const fn align_up(v: u64, a: u64) -> u64 {
    (v + a - 1) & !(a - 1)
}

/// Lays out a guest of `mem_bytes` with `vcpus`, a kernel ending at physical `kernel_end`, and
/// `excache_bytes` of ExCache at the top of memory.
pub fn plan(
    mem_bytes: u64,
    vcpus: u32,
    kernel_end: u64,
    excache_bytes: u64,
) -> Result<Plan, ConfigError> {
    let kernel_end = align_up(kernel_end.max(KERNEL_PHYS_BASE), PAGE_SIZE);
    let stacks = kernel_end;
    let stack_size = BOOT_STACK_SIZE;
    let console = stacks + u64::from(vcpus) * stack_size;
    let peer_table = console + CONSOLE_RING_BYTES;
    let boot_extra_end = peer_table + PAGE_SIZE;
    let usable_start = boot_extra_end;
    let usable_end = mem_bytes.saturating_sub(excache_bytes);
    let too_small = || ConfigError::MemoryTooSmall {
        role: "this guest",
        min_mib: (boot_extra_end + excache_bytes + MIN_USABLE_BYTES).div_ceil(1 << 20),
        got_mib: mem_bytes >> 20,
    };
    if usable_end < usable_start + MIN_USABLE_BYTES {
        return Err(too_small());
    }
    let mut regions = vec![
        MemRegion::new(
            BOOT_AREA_START,
            KERNEL_PHYS_BASE - BOOT_AREA_START,
            RegionKind::Boot,
        ),
        MemRegion::new(
            KERNEL_PHYS_BASE,
            kernel_end - KERNEL_PHYS_BASE,
            RegionKind::Kernel,
        ),
        MemRegion::new(stacks, boot_extra_end - stacks, RegionKind::Boot),
        MemRegion::new(usable_start, usable_end - usable_start, RegionKind::Usable),
    ];
    if excache_bytes > 0 {
        regions.push(MemRegion::new(
            usable_end,
            excache_bytes,
            RegionKind::ExCache,
        ));
    }
    Ok(Plan {
        mem_bytes,
        stacks,
        stack_size,
        console,
        console_len: CONSOLE_RING_BYTES,
        peer_table,
        excache: (
            if excache_bytes > 0 { usable_end } else { 0 },
            excache_bytes,
        ),
        regions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_tile_memory_without_overlap() {
        let p = plan(256 << 20, 4, KERNEL_PHYS_BASE + 0x12345, 64 << 20).unwrap();
        let mut at = BOOT_AREA_START;
        for r in &p.regions {
            assert_eq!(r.start, at, "{r:?}");
            assert_eq!(r.start % PAGE_SIZE, 0);
            at = r.end();
        }
        assert_eq!(at, 256 << 20);
        assert_eq!(p.excache, ((256 - 64) << 20, 64 << 20));
        assert_eq!(p.console, p.stacks + 4 * BOOT_STACK_SIZE);
    }

    #[test]
    fn refuses_when_nothing_is_left() {
        plan(16 << 20, 1, KERNEL_PHYS_BASE + 0x1000, 8 << 20).unwrap_err();
        plan(16 << 20, 1, KERNEL_PHYS_BASE + 0x1000, 0).unwrap();
    }

    proptest::proptest! {
        #[test]
        fn any_accepted_plan_fits(mem_mib in 4u64..4096, vcpus in 1u32..64, kernel_kib in 4u64..8192, ex_mib in 0u64..2048) {
            let mem = mem_mib << 20;
            if let Ok(p) = plan(mem, vcpus, KERNEL_PHYS_BASE + (kernel_kib << 10), ex_mib << 20) {
                let last = p.regions.last().unwrap();
                proptest::prop_assert_eq!(last.end(), mem);
                for w in p.regions.windows(2) {
                    proptest::prop_assert_eq!(w[0].end(), w[1].start);
                }
            }
        }
    }
}
