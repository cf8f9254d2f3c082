//! The I/O map: device registers and windows onto peers' memory, mapped at
//! `lego_abi::layout::io_virt(gpa)` on demand.

use core::sync::atomic::{AtomicU64, Ordering};

use lego_abi::layout::{DEVICE_GPA_BASE, IO_GPA_END, io_virt};

use super::paging::{self, MapError, TableMemory};
use super::phys_to_virt;
use crate::sync::IrqMutex;

static CR3: AtomicU64 = AtomicU64::new(0);
static TABLES: IrqMutex<()> = IrqMutex::new(());

struct GuestTables;

impl TableMemory for GuestTables {
    fn table(&mut self, pa: u64) -> &mut [u64; 512] {
        // SAFETY: `pa` is a page-table page (the VMM's boot tables or one we allocated), in RAM
        // and so in the direct map; edits are serialised by `TABLES`.
        unsafe { &mut *phys_to_virt(pa).cast::<[u64; 512]>() }
    }

    fn alloc_table(&mut self) -> Option<u64> {
        super::alloc_zeroed(1)
    }
}

fn cr3() -> u64 {
    let c = CR3.load(Ordering::Relaxed);
    if c != 0 {
        return c;
    }
    // Reading CR3 is a privileged instruction (a trap on PVM): once.
    let (frame, _) = x86_64::registers::control::Cr3::read_raw();
    let c = frame.start_address().as_u64();
    CR3.store(c, Ordering::Relaxed);
    c
}

/// Maps guest-physical `[gpa, gpa + len)` (a device or a peer window) and returns its address.
pub fn map_io(gpa: u64, len: u64, writable: bool) -> Result<*mut u8, MapError> {
    if gpa < DEVICE_GPA_BASE || gpa.checked_add(len).is_none_or(|e| e > IO_GPA_END) {
        return Err(MapError::Misaligned);
    }
    let root = cr3();
    let _g = TABLES.lock();
    paging::map(&mut GuestTables, root, io_virt(gpa), gpa, len, writable)?;
    Ok(io_virt(gpa) as *mut u8)
}

/// Offset of the alias map from the I/O map (see [`map_io_alias`]).
const ALIAS_OFFSET: u64 = IO_GPA_END;

/// Maps `[gpa, gpa + len)` a second time, writable, away from the I/O map: only for tests that
/// must reach the hypervisor's own protection (a store the guest's page tables would refuse).
pub fn map_io_alias(gpa: u64, len: u64) -> Result<*mut u8, MapError> {
    if gpa < DEVICE_GPA_BASE || gpa.checked_add(len).is_none_or(|e| e > IO_GPA_END) {
        return Err(MapError::Misaligned);
    }
    let root = cr3();
    let va = io_virt(gpa) + ALIAS_OFFSET;
    let _g = TABLES.lock();
    paging::map(&mut GuestTables, root, va, gpa, len, true)?;
    Ok(va as *mut u8)
}

/// Unmaps what [`map_io`] mapped and flushes the TLB entries.
pub fn unmap_io(gpa: u64, len: u64) -> Result<(), MapError> {
    let root = cr3();
    let _g = TABLES.lock();
    paging::unmap(&mut GuestTables, root, io_virt(gpa), len)?;
    // One CR3 reload instead of an invlpg per page (each is a trap on PVM).
    // SAFETY: reloading CR3 with its current value only flushes non-global TLB entries.
    unsafe {
        let (frame, flags) = x86_64::registers::control::Cr3::read();
        x86_64::registers::control::Cr3::write(frame, flags);
    }
    Ok(())
}
