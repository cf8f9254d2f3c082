//! A user address space: a page table whose lower half maps one process's pages (4 KiB, user
//! accessible) and whose upper half is the monitor's own (the boot tables' entries, shared).
//!
//! Leaf entries are written with A=1 (a clear accessed bit costs a hidden exit on PVM) and
//! with D=1 only when the caller says the page is being written; a page mapped writable with
//! D=0 gets its D bit from the hardware (a ~15 µs exit on PVM the first time), which is how the
//! ExCache learns a line is dirty without a write fault.

use core::sync::atomic::{AtomicU64, Ordering};

use super::paging::{A, D, P, RW, US};
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{alloc_zeroed, phys_to_virt};
use crate::sync::IrqMutex;

const ADDR: u64 = 0x000f_ffff_ffff_f000;
const TABLE: u64 = P | RW | US;
/// The user half ends here (exclusive).
pub const USER_END: u64 = 0x0000_8000_0000_0000;

/// Table pages of spaces that were freed, kept for new spaces: the runtime's frame allocator
/// is made for few large ranges, not for pages coming back one by one.
static SPARE: IrqMutex<Vec<u64>> = IrqMutex::new(Vec::new());
/// Most spare table pages kept.
const MAX_SPARE: usize = 4096;

fn alloc_table() -> Option<u64> {
    if let Some(pa) = SPARE.lock().pop() {
        // SAFETY: a table page of a freed space, ours alone, in the direct map.
        unsafe { core::ptr::write_bytes(phys_to_virt(pa), 0, 4096) };
        return Some(pa);
    }
    alloc_zeroed(1)
}

fn free_table(pa: u64) {
    let mut spare = SPARE.lock();
    if spare.len() < MAX_SPARE && spare.try_reserve(1).is_ok() {
        spare.push(pa);
    } else {
        drop(spare);
        let _ = super::FRAMES.lock().free(pa, 1);
    }
}

/// The boot page table (the monitor's own), read once.
static BOOT_ROOT: AtomicU64 = AtomicU64::new(0);

fn boot_root() -> u64 {
    let r = BOOT_ROOT.load(Ordering::Relaxed);
    if r != 0 {
        return r;
    }
    let (frame, _) = x86_64::registers::control::Cr3::read_raw();
    let r = frame.start_address().as_u64();
    BOOT_ROOT.store(r, Ordering::Relaxed);
    r
}

fn table(pa: u64) -> *mut u64 {
    phys_to_virt(pa).cast::<u64>()
}

fn entry(pa: u64, i: usize) -> u64 {
    // SAFETY: `pa` is a page-table page of this space (or the boot root), in the direct map;
    // `i < 512`.
    unsafe { table(pa).add(i).read_volatile() }
}

fn set_entry(pa: u64, i: usize, v: u64) {
    // SAFETY: as in `entry`; the space is edited by one CPU at a time (its owner).
    unsafe { table(pa).add(i).write_volatile(v) }
}

/// Entry `i` of table `pa` as an atomic: other CPUs running the space set A and D bits in
/// leaves while the owner edits them, and a read-then-write would lose a D bit.
fn atomic_entry(pa: u64, i: usize) -> &'static AtomicU64 {
    // SAFETY: as in `entry`; a table entry is an aligned u64, and every access to a leaf the
    // hardware may update goes through this atomic view or the hardware's own locked updates.
    unsafe { AtomicU64::from_ptr(table(pa).add(i)) }
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * level)) & 511) as usize
}

/// Why a mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceError {
    /// No frame for a table page.
    OutOfMemory,
    /// Not a user address, or not page-aligned.
    BadAddress,
}

/// Bits of a leaf entry, as [`UserSpace::map`] takes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leaf {
    /// Writable.
    pub writable: bool,
    /// Dirty already (the fault was a write).
    pub dirty: bool,
}

/// One process's page table: `root` maps the monitor and the process (what the monitor runs
/// on without isolation); with isolation, `user_root` maps the process and only the entry area
/// (`isolation`), sharing `root`'s lower-half tables.
#[derive(Debug)]
pub struct UserSpace {
    root: u64,
    user_root: u64,
    /// Table pages below the root (for freeing).
    tables: u64,
    /// The CPUs running user code on this space now (bit per CPU): a TLB flush must reach
    /// them ([`UserSpace::flush_tlb`]).
    running: Arc<AtomicU64>,
}

impl UserSpace {
    /// A new space with nothing mapped in the user half.
    pub fn new() -> Result<UserSpace, SpaceError> {
        let boot = boot_root();
        let root = alloc_table().ok_or(SpaceError::OutOfMemory)?;
        for i in 256..512 {
            set_entry(root, i, entry(boot, i));
        }
        let user_root = if super::isolation::enabled() {
            let Some(u) = alloc_table() else {
                free_table(root);
                return Err(SpaceError::OutOfMemory);
            };
            set_entry(u, 511, super::isolation::entry_pml4e());
            u
        } else {
            0
        };
        Ok(UserSpace {
            root,
            user_root,
            tables: 0,
            running: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The root's physical address (CR3).
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Table pages this space allocated (beyond its root).
    pub fn table_pages(&self) -> u64 {
        self.tables
    }

    /// The leaf slot of `va`: (table page, index), creating the tables on the way if `create`.
    fn slot(&mut self, va: u64, create: bool) -> Result<Option<(u64, usize)>, SpaceError> {
        if va >= USER_END || !va.is_multiple_of(4096) {
            return Err(SpaceError::BadAddress);
        }
        let mut t = self.root;
        for level in (1..=3).rev() {
            let i = index(va, level);
            let e = entry(t, i);
            if e & P == 0 {
                if !create {
                    return Ok(None);
                }
                let n = alloc_table().ok_or(SpaceError::OutOfMemory)?;
                self.tables += 1;
                set_entry(t, i, n | TABLE);
                if level == 3 && self.user_root != 0 {
                    set_entry(self.user_root, i, n | TABLE);
                }
                t = n;
            } else {
                t = e & ADDR;
            }
        }
        Ok(Some((t, index(va, 0))))
    }

    /// Maps user page `va` to frame `pa`. No TLB work is needed: the entry was not present.
    pub fn map(&mut self, va: u64, pa: u64, leaf: Leaf) -> Result<(), SpaceError> {
        let (t, i) = self.slot(va, true)?.ok_or(SpaceError::OutOfMemory)?;
        let mut e = (pa & ADDR) | P | US | A;
        if leaf.writable {
            e |= RW;
        }
        if leaf.dirty {
            e |= D;
        }
        set_entry(t, i, e);
        Ok(())
    }

    /// The leaf entry of `va` (0 if not mapped).
    pub fn pte(&mut self, va: u64) -> u64 {
        match self.slot(va & !4095, false) {
            Ok(Some((t, i))) => entry(t, i),
            _ => 0,
        }
    }

    /// Marks `va`'s entry dirty (the monitor wrote the page through its own mapping).
    pub fn set_dirty(&mut self, va: u64) {
        if let Ok(Some((t, i))) = self.slot(va & !4095, false) {
            let a = atomic_entry(t, i);
            if a.load(Ordering::Acquire) & P != 0 {
                a.fetch_or(D, Ordering::AcqRel);
            }
        }
    }

    /// Clears `va`'s entry; returns what it was (0 if none). The caller flushes the TLB before
    /// the frame is reused or its contents read for a write-back.
    pub fn unmap(&mut self, va: u64) -> u64 {
        match self.slot(va & !4095, false) {
            Ok(Some((t, i))) => atomic_entry(t, i).swap(0, Ordering::AcqRel),
            _ => 0,
        }
    }

    /// The physical address `va` maps to and whether it is writable, if mapped.
    pub fn translate(&mut self, va: u64) -> Option<(u64, bool)> {
        let e = self.pte(va & !4095);
        (e & P != 0).then_some(((e & ADDR) + (va & 4095), e & RW != 0))
    }

    /// The page table user code runs on: the user root with isolation, else 0 (the current
    /// one, which [`activate`](Self::activate) made this space's).
    pub fn user_cr3(&self) -> u64 {
        self.user_root
    }

    /// Makes cleared entries take effect before a frame is reused: with isolation, the next
    /// entry into user code loads the user root, which flushes the TLB, so nothing is needed;
    /// without, a CR3 reload.
    pub fn flush_tlb(&self) {
        if self.user_root == 0 {
            self.activate();
        }
        self.shootdown();
    }

    /// The handle other CPUs mark while they run this space ([`enter_running`]).
    pub fn running(&self) -> Arc<AtomicU64> {
        self.running.clone()
    }

    /// Makes every other CPU running this space leave it (a wake-up interrupt ends its user
    /// run) and waits until they have: they load a page table again before they come back,
    /// which flushes their TLB of its user entries. Cleared entries are then dead everywhere,
    /// Linux's TLB shootdown.
    pub fn shootdown(&self) {
        let me = 1u64 << crate::percpu::this().cpu();
        // Entries were cleared before this load; a CPU that marks itself after it loads the
        // table afterwards, and sees them cleared.
        let others = self.running.load(Ordering::SeqCst) & !me;
        if others == 0 {
            return;
        }
        for cpu in 0..64 {
            if others & (1 << cpu) != 0 {
                crate::smp::kick(cpu);
            }
        }
        while self.running.load(Ordering::Acquire) & others != 0 {
            crate::arch::pause();
        }
    }

    /// Makes this space the CPU's (a privileged instruction: a trap on PVM). Also flushes the
    /// TLB of user entries, which is how a batch of evictions is made safe.
    pub fn activate(&self) {
        // SAFETY: the root holds the monitor's upper half unchanged and user mappings below;
        // loading it keeps the kernel running where it is.
        unsafe {
            core::arch::asm!("mov cr3, {}", in(reg) self.root, options(nostack, preserves_flags))
        };
    }

    /// Switches back to the monitor's own table (before this space is freed).
    pub fn deactivate() {
        let r = boot_root();
        // SAFETY: the boot table maps the monitor exactly as every user space's upper half.
        unsafe { core::arch::asm!("mov cr3, {}", in(reg) r, options(nostack, preserves_flags)) };
    }

    /// Frees every table page of the user half (not the frames the leaves point at: they are
    /// the ExCache's). The space must not be active.
    pub fn free(self) {
        fn walk(t: u64, level: u32) {
            for i in 0..512 {
                let e = entry(t, i);
                if e & P == 0 {
                    continue;
                }
                if level > 1 {
                    walk(e & ADDR, level - 1);
                }
                free_table(e & ADDR);
            }
        }
        for i in 0..256 {
            let e = entry(self.root, i);
            if e & P != 0 {
                walk(e & ADDR, 2);
                free_table(e & ADDR);
            }
        }
        free_table(self.root);
        if self.user_root != 0 {
            // Its lower half was `root`'s; slot 511 is the shared entry area.
            free_table(self.user_root);
        }
    }
}

/// Marks this CPU as running the space whose handle is `running` (before it loads the page
/// table and enters user code); [`leave_running`] after.
pub fn enter_running(running: &AtomicU64) {
    running.fetch_or(1 << crate::percpu::this().cpu(), Ordering::SeqCst);
}

/// Unmarks this CPU (its user run is over).
pub fn leave_running(running: &AtomicU64) {
    running.fetch_and(!(1 << crate::percpu::this().cpu()), Ordering::SeqCst);
}
