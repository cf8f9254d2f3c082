//! Editing the guest's page tables: mapping device registers and windows onto peers' memory at
//! run time (the VMM's boot tables map only RAM and the kernel). The walk is generic over where
//! table pages live, so it is tested on the host against a fake physical memory.
//!
//! Entries get U=1 (the PVM host requires it for every page the kernel touches) and A=1, D=1 (so
//! the host never takes an exit to set them).

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
/// Large page (in a PD entry).
pub const PS: u64 = 1 << 7;

const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
const LARGE: u64 = 2 << 20;
const SMALL: u64 = 4096;
const TABLE_FLAGS: u64 = P | RW | US;

/// Where page-table pages live.
pub trait TableMemory {
    /// The 512 entries of the table page at physical `pa`.
    fn table(&mut self, pa: u64) -> &mut [u64; 512];
    /// A new zeroed table page.
    fn alloc_table(&mut self) -> Option<u64>;
}

/// Why a mapping failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// Addresses or length not page aligned, or the range wraps.
    Misaligned,
    /// Part of the range is mapped to something else.
    Conflict(u64),
    /// No memory for a table page.
    OutOfMemory,
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * level)) & 511) as usize
}

/// The table one level down from `entry`, created if absent. `None` if `entry` is a large page.
fn descend<M: TableMemory>(mem: &mut M, table: u64, idx: usize) -> Result<Option<u64>, MapError> {
    let e = mem.table(table)[idx];
    if e & P == 0 {
        let t = mem.alloc_table().ok_or(MapError::OutOfMemory)?;
        mem.table(table)[idx] = t | TABLE_FLAGS;
        return Ok(Some(t));
    }
    if e & PS != 0 {
        return Ok(None);
    }
    Ok(Some(e & ADDR_MASK))
}

/// Maps `[va, va + len)` to `[pa, pa + len)`, with 2 MiB pages where both are aligned. Ranges
/// already mapped to exactly these addresses are left alone (mapping is idempotent).
pub fn map<M: TableMemory>(
    mem: &mut M,
    cr3: u64,
    va: u64,
    pa: u64,
    len: u64,
    writable: bool,
) -> Result<(), MapError> {
    if !va.is_multiple_of(SMALL)
        || !pa.is_multiple_of(SMALL)
        || !len.is_multiple_of(SMALL)
        || va.checked_add(len).is_none()
        || pa.checked_add(len).is_none()
    {
        return Err(MapError::Misaligned);
    }
    let leaf = P | US | A | D | if writable { RW } else { 0 };
    let mut off = 0;
    while off < len {
        let (v, p) = (va + off, pa + off);
        let pdpt = descend(mem, cr3, index(v, 3))?.ok_or(MapError::Conflict(v))?;
        let pd = descend(mem, pdpt, index(v, 2))?.ok_or(MapError::Conflict(v))?;
        let big = v % LARGE == 0 && p % LARGE == 0 && len - off >= LARGE;
        let pde = mem.table(pd)[index(v, 1)];
        if big && pde & P == 0 {
            mem.table(pd)[index(v, 1)] = p | leaf | PS;
            off += LARGE;
            continue;
        }
        if pde & P != 0 && pde & PS != 0 {
            // Inside an existing large page: fine only if it maps the same place.
            let base = pde & 0x000f_ffff_ffe0_0000;
            if base + (v % LARGE) != p {
                return Err(MapError::Conflict(v));
            }
            off += SMALL;
            continue;
        }
        let pt = descend(mem, pd, index(v, 1))?.ok_or(MapError::Conflict(v))?;
        let slot = &mut mem.table(pt)[index(v, 0)];
        if *slot & P != 0 {
            if *slot & ADDR_MASK != p {
                return Err(MapError::Conflict(v));
            }
        } else {
            *slot = p | leaf;
        }
        off += SMALL;
    }
    Ok(())
}

/// Walks the tables like the MMU: the physical address `va` maps to.
pub fn translate<M: TableMemory>(mem: &mut M, cr3: u64, va: u64) -> Option<u64> {
    let mut table = cr3;
    for level in (0..=3).rev() {
        let e = mem.table(table)[index(va, level)];
        if e & P == 0 {
            return None;
        }
        if level == 1 && e & PS != 0 {
            return Some((e & 0x000f_ffff_ffe0_0000) + (va % LARGE));
        }
        if level == 0 {
            return Some((e & ADDR_MASK) + (va % SMALL));
        }
        table = e & ADDR_MASK;
    }
    None
}

/// Unmaps `[va, va + len)` (whole 2 MiB pages must be unmapped whole). Returns how many entries
/// were cleared; the caller flushes the TLB.
pub fn unmap<M: TableMemory>(mem: &mut M, cr3: u64, va: u64, len: u64) -> Result<usize, MapError> {
    if !va.is_multiple_of(SMALL) || !len.is_multiple_of(SMALL) {
        return Err(MapError::Misaligned);
    }
    let mut cleared = 0;
    let mut off = 0;
    while off < len {
        let v = va + off;
        let mut table = cr3;
        let mut step = SMALL;
        for level in (1..=3).rev() {
            let e = mem.table(table)[index(v, level)];
            if e & P == 0 {
                table = 0;
                break;
            }
            if level == 1 && e & PS != 0 {
                if !v.is_multiple_of(LARGE) || len - off < LARGE {
                    return Err(MapError::Misaligned);
                }
                mem.table(table)[index(v, 1)] = 0;
                cleared += 1;
                step = LARGE;
                table = 0;
                break;
            }
            table = e & ADDR_MASK;
        }
        if table != 0 {
            let slot = &mut mem.table(table)[index(v, 0)];
            if *slot & P != 0 {
                *slot = 0;
                cleared += 1;
            }
        }
        off += step;
    }
    Ok(cleared)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Fake {
        pages: HashMap<u64, Box<[u64; 512]>>,
        next: u64,
        limit: usize,
    }

    impl TableMemory for Fake {
        fn table(&mut self, pa: u64) -> &mut [u64; 512] {
            self.pages.entry(pa).or_insert_with(|| Box::new([0; 512]))
        }
        fn alloc_table(&mut self) -> Option<u64> {
            if self.limit != 0 && self.pages.len() >= self.limit {
                return None;
            }
            self.next += 4096;
            let pa = 0x100_0000 + self.next;
            self.pages.insert(pa, Box::new([0; 512]));
            Some(pa)
        }
    }

    fn fake() -> (Fake, u64) {
        let mut f = Fake::default();
        let cr3 = f.alloc_table().unwrap();
        (f, cr3)
    }

    const VA: u64 = 0xffff_a080_0000_0000;

    #[test]
    fn small_and_large_pages() {
        let (mut m, cr3) = fake();
        map(&mut m, cr3, VA, 0x80_0000_0000, 4096, true).unwrap();
        assert_eq!(translate(&mut m, cr3, VA + 5), Some(0x80_0000_0005));
        map(&mut m, cr3, VA + (4 << 20), 0x100_0000_0000, 4 << 20, false).unwrap();
        assert_eq!(
            translate(&mut m, cr3, VA + (5 << 20) + 7),
            Some(0x100_0010_0007)
        );
        // Two 2 MiB leaves, not 1024 small ones.
        let pd_entries: usize = m
            .pages
            .values()
            .map(|t| t.iter().filter(|e| **e & PS != 0).count())
            .sum();
        assert_eq!(pd_entries, 2);
        let leaf = m
            .pages
            .values()
            .flat_map(|t| t.iter())
            .find(|e| **e & PS != 0)
            .copied()
            .unwrap();
        assert_eq!(leaf & (US | A | D | RW), US | A | D, "read-only, U/A/D set");
    }

    #[test]
    fn idempotent_but_conflicts_are_refused() {
        let (mut m, cr3) = fake();
        map(&mut m, cr3, VA, 0x5000, 8192, true).unwrap();
        map(&mut m, cr3, VA, 0x5000, 8192, true).unwrap();
        assert_eq!(
            map(&mut m, cr3, VA, 0x9000, 4096, true),
            Err(MapError::Conflict(VA))
        );
        assert_eq!(
            map(&mut m, cr3, VA + 1, 0x9000, 4096, true),
            Err(MapError::Misaligned)
        );
    }

    #[test]
    fn unmap_clears_and_translate_agrees() {
        let (mut m, cr3) = fake();
        map(&mut m, cr3, VA, 0x20_0000, 6 << 20, true).unwrap();
        assert_eq!(unmap(&mut m, cr3, VA, 2 << 20), Ok(1));
        assert_eq!(translate(&mut m, cr3, VA), None);
        assert_eq!(translate(&mut m, cr3, VA + (2 << 20)), Some(0x40_0000));
        assert_eq!(
            unmap(&mut m, cr3, VA + (2 << 20), 4096),
            Err(MapError::Misaligned),
            "part of a large page"
        );
    }

    #[test]
    fn out_of_table_memory() {
        let (mut m, cr3) = fake();
        m.limit = 2;
        assert_eq!(
            map(&mut m, cr3, VA, 0, 4096, true),
            Err(MapError::OutOfMemory)
        );
    }

    proptest::proptest! {
        #[test]
        fn every_mapped_page_translates(ranges in proptest::collection::vec((0u64..64, 1u64..16, 0u64..4096), 1..10)) {
            let (mut m, cr3) = fake();
            let mut done: Vec<(u64, u64, u64)> = Vec::new();
            for (slot, pages, pfn) in ranges {
                let va = VA + slot * (64 << 20);
                let pa = pfn * 4096;
                if map(&mut m, cr3, va, pa, pages * 4096, true).is_ok() {
                    done.push((va, pa, pages));
                }
            }
            for (va, pa, pages) in done {
                for i in 0..pages {
                    proptest::prop_assert_eq!(translate(&mut m, cr3, va + i * 4096 + 9), Some(pa + i * 4096 + 9));
                }
            }
        }
    }
}
