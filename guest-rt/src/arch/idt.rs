//! The interrupt descriptor table, shared by all CPUs, with one assembly stub per vector.
//!
//! Our own gate type rather than the `x86_64` crate's IDT: that one is built around
//! `extern "x86-interrupt"` handlers (nightly); ours are addresses of the stubs in `trap`.

use core::cell::UnsafeCell;

use lego_abi::layout::selectors::KERNEL_CS;
use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;

use super::gdt::DOUBLE_FAULT_IST;
use super::trap;

/// A 16-byte long-mode gate.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    /// An interrupt gate (IF cleared on entry) to `handler`, callable from `dpl`.
    pub fn interrupt(handler: u64, dpl: u8, ist: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: KERNEL_CS,
            ist,
            type_attr: 0x8e | ((dpl & 3) << 5),
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt(UnsafeCell<[Gate; 256]>);

// SAFETY: only the boot CPU writes the table, before other CPUs load it (the boot stages in
// `boot` order this); afterwards it is read-only.
unsafe impl Sync for Idt {}

#[unsafe(link_section = ".bss.entry_ro")]
static IDT: Idt = Idt(UnsafeCell::new(
    [Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        type_attr: 0,
        offset_mid: 0,
        offset_high: 0,
        reserved: 0,
    }; 256],
));

fn gate_for(vector: u8) -> Gate {
    let handler = trap::stub_address(vector);
    match vector {
        // int3 from user mode returns to the kernel from `usermode::run`.
        3 => Gate::interrupt(handler, 3, 0),
        8 => Gate::interrupt(handler, 0, DOUBLE_FAULT_IST as u8),
        _ => Gate::interrupt(handler, 0, 0),
    }
}

fn set(vector: u8) {
    // SAFETY: boot CPU only, before any other CPU runs with this table (see `Sync` above).
    unsafe { (*IDT.0.get())[usize::from(vector)] = gate_for(vector) };
}

/// Installs only the #GP gate and loads the IDT: enough for `msr::read_safe`, as few
/// instructions as possible while CPL0 may still be emulated.
pub fn install_early() {
    set(13);
    load();
}

/// Fills every gate. Run once on the boot CPU.
pub fn install_all() {
    for v in 0..=255u8 {
        set(v);
    }
}

/// Loads the IDT on this CPU.
pub fn load() {
    let ptr = DescriptorTablePointer {
        limit: (256 * 16 - 1) as u16,
        base: VirtAddr::new(IDT.0.get() as u64),
    };
    // SAFETY: the table is static and its gates point at valid stubs (or are not present yet,
    // which only happens before `install_all`, when no interrupt can arrive).
    unsafe { lidt(&ptr) };
}
