//! Keeping user programs out of the monitor's memory.
//!
//! On the PVM host every page the kernel touches must be mapped user-accessible (U=1), so the
//! U bit cannot protect the monitor: a program running on a page table that maps the monitor
//! could read and write it. Isolation is therefore by page table, as Linux's KPTI: while user
//! code runs, the CPU is on the process's *user root*, whose upper half maps only the *entry
//! area*; every way into the kernel (trap, interrupt, syscall) first loads the monitor's own
//! table (`LEGO_KERNEL_CR3`), and the way out loads the user root just before `sysretq`. On
//! ordinary KVM the same works (there the U bit would also do).
//!
//! The entry area, all in the kernel image and page-aligned by the linker script:
//! - `.text.lego_entry*`: the trap and syscall stubs and the user entry code (read-only);
//! - `.bss.entry_ro`: the IDT, GDTs and TSSs, the per-CPU pointers, the kernel's CR3 and the
//!   isolation flag (read-only for users: writable only through the monitor's mapping);
//! - `.bss.entry_rw`: the trap stacks (one page per CPU: the CPU pushes its frame there under
//!   the user root) and a per-CPU scratch line the entry code uses to free a register. Both
//!   hold only the running program's own registers.
//!
//! Each switch is a CR3 write: a trap to the host on PVM (~17-20 µs), twice per syscall or
//! fault. `isolation=off` on a pComponent's command line turns it off (for measurements).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

use lego_abi::boot::MAX_CPUS;
use lego_abi::layout::KERNEL_VIRT_BASE;

use super::paging::{A, D, P, RW, US};
use super::{alloc_zeroed, phys_to_virt};

/// Bytes of a trap stack (one page: it holds one frame).
pub const TRAP_STACK: usize = 4096;

/// The trap stacks (TSS.RSP0 of each CPU).
#[repr(C, align(4096))]
pub struct TrapStacks(UnsafeCell<[[u8; TRAP_STACK]; MAX_CPUS]>);

// SAFETY: CPU `i` only uses stack `i`, through the CPU's own trap delivery.
unsafe impl Sync for TrapStacks {}

impl core::fmt::Debug for TrapStacks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrapStacks").finish_non_exhaustive()
    }
}

/// The trap stacks.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".bss.entry_rw")]
pub static LEGO_TRAP_STACKS: TrapStacks = TrapStacks(UnsafeCell::new([[0; TRAP_STACK]; MAX_CPUS]));

/// Per-CPU scratch words for the entry code (8 words, a cache line each).
#[unsafe(no_mangle)]
#[unsafe(link_section = ".bss.entry_rw")]
pub static LEGO_ENTRY_SCRATCH: [[AtomicU64; 8]; MAX_CPUS] =
    [const { [const { AtomicU64::new(0) }; 8] }; MAX_CPUS];

/// Each CPU's per-CPU data pointer (what its GS base must be in the kernel).
#[unsafe(no_mangle)]
#[unsafe(link_section = ".bss.entry_ro")]
pub static LEGO_PERCPU_PTR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The monitor's page table (CR3), loaded on every entry from user mode when isolating.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".bss.entry_ro")]
pub static LEGO_KERNEL_CR3: AtomicU64 = AtomicU64::new(0);

/// Non-zero: isolate (the entry code switches page tables).
#[unsafe(no_mangle)]
#[unsafe(link_section = ".bss.entry_ro")]
pub static LEGO_ISOLATE: AtomicU64 = AtomicU64::new(0);

/// The PML4 entry (slot 511) that maps the entry area in user roots.
static ENTRY_PML4E: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" {
    static __entry_text_start: u8;
    static __entry_text_end: u8;
    static __entry_ro_start: u8;
    static __entry_ro_end: u8;
    static __entry_rw_start: u8;
    static __entry_rw_end: u8;
}

/// Top of CPU `cpu`'s trap stack (16-byte aligned).
pub fn trap_stack_top(cpu: usize) -> u64 {
    LEGO_TRAP_STACKS.0.get() as u64 + ((cpu + 1) * TRAP_STACK) as u64
}

/// Records CPU `cpu`'s per-CPU pointer for the trap entry.
pub fn set_percpu(cpu: usize, ptr: u64) {
    LEGO_PERCPU_PTR[cpu].store(ptr, Ordering::Relaxed);
}

/// The scratch line of CPU `cpu`.
pub fn scratch(cpu: usize) -> u64 {
    LEGO_ENTRY_SCRATCH[cpu].as_ptr() as u64
}

/// Whether programs are isolated.
pub fn enabled() -> bool {
    LEGO_ISOLATE.load(Ordering::Relaxed) != 0
}

/// The PML4 entry a user root gets in slot 511 (0 when not isolating).
pub fn entry_pml4e() -> u64 {
    ENTRY_PML4E.load(Ordering::Relaxed)
}

const ADDR: u64 = 0x000f_ffff_ffff_f000;
const TABLE: u64 = P | RW | US;

fn table(pa: u64) -> *mut u64 {
    phys_to_virt(pa).cast::<u64>()
}

/// Maps kernel-image page `va` (4 KiB) in the entry tables below `pdpt`.
fn map_page(pdpt: u64, va: u64, writable: bool) -> Option<()> {
    let mut t = pdpt;
    for level in (1..=2).rev() {
        let i = ((va >> (12 + 9 * level)) & 511) as usize;
        // SAFETY: `t` is a table page we allocated, in the direct map; boot CPU only.
        let e = unsafe { table(t).add(i).read() };
        t = if e & P == 0 {
            let n = alloc_zeroed(1)?;
            // SAFETY: as above.
            unsafe { table(t).add(i).write(n | TABLE) };
            n
        } else {
            e & ADDR
        };
    }
    let pa = va - KERNEL_VIRT_BASE;
    let leaf = pa | P | US | A | D | if writable { RW } else { 0 };
    // SAFETY: as above; index < 512.
    unsafe { table(t).add(((va >> 12) & 511) as usize).write(leaf) };
    Some(())
}

/// Builds the entry area's tables and turns isolation on (boot CPU, after the heap). Returns
/// whether it could.
pub fn init(on: bool) -> bool {
    let (frame, _) = x86_64::registers::control::Cr3::read_raw();
    LEGO_KERNEL_CR3.store(frame.start_address().as_u64(), Ordering::Relaxed);
    if !on {
        return false;
    }
    let Some(pdpt) = alloc_zeroed(1) else {
        return false;
    };
    let ranges = [
        (
            &raw const __entry_text_start,
            &raw const __entry_text_end,
            false,
        ),
        (
            &raw const __entry_ro_start,
            &raw const __entry_ro_end,
            false,
        ),
        (&raw const __entry_rw_start, &raw const __entry_rw_end, true),
    ];
    for (s, e, writable) in ranges {
        let mut va = s as u64 & !4095;
        while va < e as u64 {
            if map_page(pdpt, va, writable).is_none() {
                return false;
            }
            va += 4096;
        }
    }
    ENTRY_PML4E.store(pdpt | TABLE, Ordering::Relaxed);
    LEGO_ISOLATE.store(1, Ordering::Release);
    true
}
