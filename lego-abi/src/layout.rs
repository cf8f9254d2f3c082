//! Where things are in a monitor guest: physical placement chosen by the VMM and the virtual
//! layout the VMM's boot page tables establish.
//!
//! The kernel lives in the upper half, so the lower half stays free for user programs, and so it
//! fits the PVM host's rule that a VIF kernel with CR3 flipping lives in the upper half.

/// Size of a small page.
pub const PAGE_SIZE: u64 = 4096;
/// Size of a large page, the granule of the boot page tables.
pub const LARGE_PAGE_SIZE: u64 = 2 << 20;

/// Virtual base of the kernel window: `KERNEL_VIRT_BASE + p` maps physical `p` for the first
/// [`KERNEL_WINDOW`] bytes. The image is linked here (`-C code-model=kernel`).
pub const KERNEL_VIRT_BASE: u64 = 0xFFFF_FFFF_8000_0000;
/// Bytes of physical memory mapped by the kernel window.
pub const KERNEL_WINDOW: u64 = 1 << 30;
/// Virtual base of the direct map of all guest memory (PML4 slot 273, as Linux's). Not slot 256:
/// on the PVM host, accesses through the first upper-half slot fault once the VIF is registered
/// (measured; docs/platform.md).
pub const DIRECT_MAP_BASE: u64 = 0xFFFF_8880_0000_0000;
/// Largest guest memory the boot page tables can describe.
pub const MAX_GUEST_MEMORY: u64 = 256 << 30;

/// Physical start of the boot area: page tables, GDT, boot info, mailbox.
pub const BOOT_AREA_START: u64 = 0x1000;
/// Physical end of the boot area; the kernel image is linked to start here.
pub const KERNEL_PHYS_BASE: u64 = 0x20_0000;

/// Physical address of the boot info page (see [`crate::boot::BootInfo`]).
pub const BOOT_INFO_GPA: u64 = 0x1000;
/// Physical address of the report mailbox page (see [`crate::report`]).
pub const MAILBOX_GPA: u64 = 0x2000;
/// Physical address of the boot GDT.
pub const BOOT_GDT_GPA: u64 = 0x3000;
/// Physical address of the boot PML4; further page-table pages follow it.
pub const PML4_GPA: u64 = 0x4000;

/// Guest-physical base of device MMIO (virtio-mmio devices, one page each): above any guest's RAM.
pub const DEVICE_GPA_BASE: u64 = 0x80_0000_0000;
/// Virtual base of the I/O map: guest-physical `p >= DEVICE_GPA_BASE` (devices, and the windows
/// onto peers' memory) is mapped, on demand, at `IO_VIRT_BASE + p`.
pub const IO_VIRT_BASE: u64 = 0xFFFF_A000_0000_0000;
/// Highest guest-physical address the I/O map covers.
pub const IO_GPA_END: u64 = 0x1200_0000_0000;

/// The interrupt vector of the fabric (doorbells from peers, peer-table changes).
pub const FABRIC_VECTOR: u8 = 0x30;

/// Per-vCPU boot stack size.
pub const BOOT_STACK_SIZE: u64 = 64 << 10;

/// Converts a physical address to its direct-map virtual address.
pub const fn phys_to_virt(pa: u64) -> u64 {
    DIRECT_MAP_BASE + pa
}

/// The I/O-map virtual address of device or window guest-physical `pa`.
pub const fn io_virt(pa: u64) -> u64 {
    IO_VIRT_BASE + pa
}

/// Converts a direct-map or kernel-window virtual address back to physical.
/// Returns `None` for addresses in neither window.
pub const fn virt_to_phys(va: u64) -> Option<u64> {
    if va >= KERNEL_VIRT_BASE {
        Some(va - KERNEL_VIRT_BASE)
    } else if va >= DIRECT_MAP_BASE && va < DIRECT_MAP_BASE + MAX_GUEST_MEMORY {
        Some(va - DIRECT_MAP_BASE)
    } else {
        None
    }
}

/// The GDT layout shared by the VMM's boot GDT and the guest's own (Linux's layout, which the PVM
/// host expects).
pub mod selectors {
    /// 64-bit kernel code.
    pub const KERNEL_CS: u16 = 0x10;
    /// Kernel data.
    pub const KERNEL_DS: u16 = 0x18;
    /// 32-bit user code (unused, kept for the `sysret` selector arithmetic).
    pub const USER32_CS: u16 = 0x23;
    /// User data.
    pub const USER_DS: u16 = 0x2b;
    /// 64-bit user code.
    pub const USER_CS: u16 = 0x33;
    /// The TSS (a 16-byte descriptor).
    pub const TSS: u16 = 0x40;
    /// Number of 8-byte GDT slots.
    pub const GDT_ENTRIES: usize = 10;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_round_trip() {
        assert_eq!(virt_to_phys(phys_to_virt(0x1234_5000)), Some(0x1234_5000));
        assert_eq!(
            virt_to_phys(KERNEL_VIRT_BASE + KERNEL_PHYS_BASE),
            Some(KERNEL_PHYS_BASE)
        );
        assert_eq!(virt_to_phys(0x40_0000), None);
        // The I/O map stays clear of the direct map and of PML4 slot 256.
        assert!(io_virt(DEVICE_GPA_BASE) > phys_to_virt(MAX_GUEST_MEMORY));
        assert!(io_virt(IO_GPA_END) < KERNEL_VIRT_BASE);
        assert_ne!((IO_VIRT_BASE >> 39) & 511, 256);
    }

    #[test]
    fn boot_area_fits_below_the_kernel() {
        const { assert!(PML4_GPA > BOOT_GDT_GPA && PML4_GPA < KERNEL_PHYS_BASE) };
        const { assert!(MAILBOX_GPA > BOOT_INFO_GPA) };
    }
}
