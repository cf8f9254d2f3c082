//! The boot page tables, built by the VMM so every vCPU starts in long mode with the kernel
//! already mapped: a direct map of all guest memory at `DIRECT_MAP_BASE` and the kernel window
//! at `KERNEL_VIRT_BASE`, both with 2 MiB pages.
//!
//! Every entry has U=1: on the PVM host a kernel that registered a VIF hangs on U=0 pages
//! (PLATFORM.md); on ordinary hosts it is harmless with SMEP/SMAP off. Leaves are created with
//! A=1 and D=1 so the host never takes an exit to set them.

use lego_abi::layout::{
    DIRECT_MAP_BASE, KERNEL_VIRT_BASE, KERNEL_WINDOW, LARGE_PAGE_SIZE, MAX_GUEST_MEMORY, PAGE_SIZE,
    PML4_GPA,
};

/// Present.
pub const P: u64 = 1 << 0;
/// Writable.
pub const RW: u64 = 1 << 1;
/// User-accessible.
pub const US: u64 = 1 << 2;
/// Accessed.
pub const A: u64 = 1 << 5;
/// Dirty.
pub const D: u64 = 1 << 6;
/// Large page.
pub const PS: u64 = 1 << 7;

const TABLE_FLAGS: u64 = P | RW | US;
const LEAF_FLAGS: u64 = P | RW | US | A | D | PS;
const GIB: u64 = 1 << 30;

/// Page-table pages to write, and CR3.
#[derive(Debug)]
pub struct PageTables {
    /// Physical address of the PML4.
    pub cr3: u64,
    /// `(physical address, 512 entries)` of every table page.
    pub pages: Vec<(u64, Box<[u64; 512]>)>,
}

impl PageTables {
    /// One past the last table page.
    pub fn end(&self) -> u64 {
        self.pages
            .iter()
            .map(|(a, _)| a + PAGE_SIZE)
            .max()
            .unwrap_or(PML4_GPA)
    }

    fn table(&self, pa: u64) -> Option<&[u64; 512]> {
        self.pages.iter().find(|(a, _)| *a == pa).map(|(_, t)| &**t)
    }

    /// Walks the tables like the MMU; returns the physical address `va` maps to.
    pub fn translate(&self, va: u64) -> Option<u64> {
        let mut table = self.cr3;
        for level in (1..=3).rev() {
            let shift = 12 + 9 * level;
            let e = self.table(table)?[((va >> shift) & 511) as usize];
            if e & P == 0 {
                return None;
            }
            if level == 1 {
                // PD level: 2 MiB pages only.
                if e & PS == 0 {
                    return None;
                }
                return Some((e & 0x000f_ffff_ffe0_0000) + (va & (LARGE_PAGE_SIZE - 1)));
            }
            table = e & 0x000f_ffff_ffff_f000;
        }
        None
    }
}

/// Builds the tables for `mem_bytes` of guest memory (a multiple of 2 MiB, at most
/// `MAX_GUEST_MEMORY`), in consecutive pages from `PML4_GPA`.
pub fn build(mem_bytes: u64) -> PageTables {
    let mem_bytes = mem_bytes.min(MAX_GUEST_MEMORY);
    let mut next = PML4_GPA;
    let mut alloc = || {
        let a = next;
        next += PAGE_SIZE;
        a
    };
    let mut pages: Vec<(u64, Box<[u64; 512]>)> = Vec::new();
    let pml4_pa = alloc();
    let mut pml4 = Box::new([0u64; 512]);

    // Direct map: one PD per GiB.
    let direct_pdpt_pa = alloc();
    let mut direct_pdpt = Box::new([0u64; 512]);
    let gibs = mem_bytes.div_ceil(GIB);
    for g in 0..gibs {
        let pd_pa = alloc();
        let mut pd = Box::new([0u64; 512]);
        for (i, e) in pd.iter_mut().enumerate() {
            let pa = g * GIB + i as u64 * LARGE_PAGE_SIZE;
            if pa < mem_bytes {
                *e = pa | LEAF_FLAGS;
            }
        }
        direct_pdpt[g as usize] = pd_pa | TABLE_FLAGS;
        pages.push((pd_pa, pd));
    }
    pml4[((DIRECT_MAP_BASE >> 39) & 511) as usize] = direct_pdpt_pa | TABLE_FLAGS;

    // Kernel window: the first GiB (or less) at KERNEL_VIRT_BASE.
    let kernel_pdpt_pa = alloc();
    let mut kernel_pdpt = Box::new([0u64; 512]);
    let kernel_pd_pa = alloc();
    let mut kernel_pd = Box::new([0u64; 512]);
    let window = mem_bytes.min(KERNEL_WINDOW);
    for (i, e) in kernel_pd.iter_mut().enumerate() {
        let pa = i as u64 * LARGE_PAGE_SIZE;
        if pa < window {
            *e = pa | LEAF_FLAGS;
        }
    }
    kernel_pdpt[((KERNEL_VIRT_BASE >> 30) & 511) as usize] = kernel_pd_pa | TABLE_FLAGS;
    pml4[((KERNEL_VIRT_BASE >> 39) & 511) as usize] = kernel_pdpt_pa | TABLE_FLAGS;

    pages.push((pml4_pa, pml4));
    pages.push((direct_pdpt_pa, direct_pdpt));
    pages.push((kernel_pdpt_pa, kernel_pdpt));
    pages.push((kernel_pd_pa, kernel_pd));
    PageTables {
        cr3: pml4_pa,
        pages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lego_abi::layout::{KERNEL_PHYS_BASE, phys_to_virt};

    #[test]
    fn exact_words_for_one_gib() {
        let t = build(GIB);
        assert_eq!(t.cr3, PML4_GPA);
        let pml4 = t.table(PML4_GPA).unwrap();
        // Direct map at PML4[273], kernel at PML4[511]; nothing else.
        assert_eq!(pml4[273], (PML4_GPA + 0x1000) | 0x7);
        assert_eq!(pml4[511], (PML4_GPA + 0x3000) | 0x7);
        assert_eq!(pml4.iter().filter(|&&e| e != 0).count(), 2);
        let pd = t.table(PML4_GPA + 0x2000).unwrap();
        assert_eq!(pd[0], 0xe7);
        assert_eq!(pd[1], 0x20_00e7);
        let kpdpt = t.table(PML4_GPA + 0x3000).unwrap();
        assert_eq!(kpdpt[510], (PML4_GPA + 0x4000) | 0x7);
    }

    #[test]
    fn translations() {
        let t = build(3 * GIB);
        assert_eq!(t.translate(phys_to_virt(0x1234_5678)), Some(0x1234_5678));
        assert_eq!(t.translate(phys_to_virt(2 * GIB + 5)), Some(2 * GIB + 5));
        assert_eq!(t.translate(phys_to_virt(3 * GIB)), None, "beyond memory");
        assert_eq!(
            t.translate(KERNEL_VIRT_BASE + KERNEL_PHYS_BASE + 9),
            Some(KERNEL_PHYS_BASE + 9)
        );
        assert_eq!(
            t.translate(KERNEL_VIRT_BASE + GIB),
            None,
            "beyond the window"
        );
        assert_eq!(t.translate(0x40_0000), None, "low half unmapped");
    }

    #[test]
    fn small_memory_maps_only_what_exists() {
        let t = build(64 << 20);
        assert_eq!(
            t.translate(phys_to_virt((64 << 20) - 1)),
            Some((64 << 20) - 1)
        );
        assert_eq!(t.translate(phys_to_virt(64 << 20)), None);
        assert_eq!(t.translate(KERNEL_VIRT_BASE + (64 << 20)), None);
    }

    #[test]
    fn largest_memory_fits_below_the_kernel() {
        let t = build(MAX_GUEST_MEMORY);
        assert!(t.end() <= KERNEL_PHYS_BASE, "tables end at {:#x}", t.end());
    }
}
