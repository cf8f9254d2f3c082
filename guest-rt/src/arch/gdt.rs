//! Per-CPU GDT and TSS, in Linux's layout (lego_abi::layout::selectors), which the PVM host
//! expects. The TSS gives every CPU its own trap stack (RSP0: traps from user mode land there)
//! and a separate stack for double faults (IST1).

use core::cell::UnsafeCell;

use lego_abi::boot::MAX_CPUS;
use lego_abi::layout::selectors::{self, GDT_ENTRIES};
use x86_64::VirtAddr;
use x86_64::instructions::tables::{lgdt, load_tss};
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::DescriptorTablePointer;
use x86_64::structures::tss::TaskStateSegment;

/// IST index used for double faults.
pub const DOUBLE_FAULT_IST: u16 = 1;

/// The flat code/data descriptors (the constant words every x86-64 kernel uses).
pub const KERNEL_CODE64: u64 = 0x00af_9b00_0000_ffff;
/// Kernel data.
pub const KERNEL_DATA: u64 = 0x00cf_9300_0000_ffff;
/// 32-bit user code.
pub const USER_CODE32: u64 = 0x00cf_fb00_0000_ffff;
/// User data.
pub const USER_DATA: u64 = 0x00cf_f300_0000_ffff;
/// 64-bit user code.
pub const USER_CODE64: u64 = 0x00af_fb00_0000_ffff;

/// The two words of a 64-bit available-TSS descriptor for a TSS at `base`.
pub fn tss_descriptor(base: u64) -> [u64; 2] {
    let limit = (core::mem::size_of::<TaskStateSegment>() - 1) as u64;
    let low = (limit & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | (0x89 << 40) // present, DPL0, type 9 (available 64-bit TSS)
        | (((limit >> 16) & 0xf) << 48)
        | (((base >> 24) & 0xff) << 56);
    [low, base >> 32]
}

#[repr(C, align(16))]
struct CpuTables {
    gdt: [u64; GDT_ENTRIES],
    tss: TaskStateSegment,
}

struct AllTables([UnsafeCell<CpuTables>; MAX_CPUS]);

// SAFETY: CPU `i` only ever touches `TABLES.0[i]`, and only during its own bring-up.
unsafe impl Sync for AllTables {}

#[unsafe(link_section = ".bss.entry_ro")]
static TABLES: AllTables = AllTables(
    [const {
        UnsafeCell::new(CpuTables {
            gdt: [0; GDT_ENTRIES],
            tss: TaskStateSegment::new(),
        })
    }; MAX_CPUS],
);

/// Builds and loads CPU `cpu`'s GDT and TSS. The segment registers are not reloaded: the VMM's
/// boot GDT has the same descriptors at the same selectors, so what the CPU has cached is
/// already right (and each reload would be an emulated instruction on PVM).
/// `rsp0` is the top of the trap stack, `ist1` the top of the double-fault stack.
pub fn init(cpu: usize, rsp0: u64, ist1: u64) {
    // SAFETY: called once per CPU on that CPU, so no other reference to this slot exists.
    let t = unsafe { &mut *TABLES.0[cpu].get() };
    t.tss.privilege_stack_table[0] = VirtAddr::new(rsp0);
    t.tss.interrupt_stack_table[usize::from(DOUBLE_FAULT_IST - 1)] = VirtAddr::new(ist1);
    let tss = tss_descriptor(&raw const t.tss as u64);
    t.gdt = [
        0,
        0,
        KERNEL_CODE64,
        KERNEL_DATA,
        USER_CODE32,
        USER_DATA,
        USER_CODE64,
        0,
        tss[0],
        tss[1],
    ];
    let ptr = DescriptorTablePointer {
        limit: (GDT_ENTRIES * 8 - 1) as u16,
        base: VirtAddr::new(t.gdt.as_ptr() as u64),
    };
    // SAFETY: the table is static, lives forever and holds valid descriptors at the selectors
    // loaded below; the TSS descriptor points at this CPU's TSS.
    unsafe {
        lgdt(&ptr);
        load_tss(SegmentSelector(selectors::TSS));
    }
}
