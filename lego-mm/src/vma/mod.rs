//! The vma tree: a process's mapped ranges with their protection and backing, with Linux's
//! rules for `mmap`, `munmap`, `mprotect`, `mremap`, `madvise(MADV_DONTNEED)`, page-fault
//! classification and stack growth.
//!
//! # Representation
//!
//! A `BTreeMap` from start address to [`Vma`]; vmas are page-aligned, non-empty, sorted,
//! non-overlapping, inside `[0, task_size)`, and **merged**: two adjacent vmas that
//! [`Vma::can_merge`] are always one vma. Every change goes through one primitive,
//! `rewrite(lo, hi, new)`, which replaces what is mapped in `[lo, hi)` by `new`, merges the
//! result with its neighbours, checks the vma count against `max_map_count` and only then
//! touches the map: each operation is all or nothing unless its documentation says (as for
//! Linux's `mprotect` and `madvise`) that a prefix is applied before an error.
//!
//! Merging is canonical (the same pages with the same attributes always give the same vmas),
//! which is what lets the page-granular model in [`crate::testing`] predict the vma list. It
//! is more eager than Linux, which also requires anonymous vmas to share an `anon_vma` and a
//! linear page offset: here two adjacent anonymous vmas with the same protection and flags
//! always merge. The visible differences are fewer vmas (so `max_map_count` is reached later)
//! and `mremap` accepting a range Linux would see as crossing two vmas.
//!
//! # Placement
//!
//! A mapping without `MAP_FIXED` goes where Linux's `get_unmapped_area` for x86-64 puts it:
//!
//! 1. at the hint (rounded down to a page, raised to `min_addr`) if `[hint, hint + len)` is
//!    inside the user space, maps nothing and ends at or below the guard gap of a grows-down
//!    vma above it;
//! 2. else at the highest fitting range below `mmap_base` and above `max(PAGE_SIZE,
//!    min_addr)` (Linux searches from `PAGE_SIZE` and then refuses a result below
//!    `mmap_min_addr` with `EPERM`; searching above it only differs when nothing else fits);
//! 3. else at the lowest fitting range above `legacy_base` (Linux's bottom-up fallback).
//!
//! A range fits between two vmas if it starts at or above the lower one's end and ends at or
//! below the upper one's start, or `guard_gap` below it for a grows-down vma. Linux 6.7+
//! also aligns anonymous mappings whose length is a multiple of 2 MiB to 2 MiB (for
//! transparent huge pages); we do not, having no huge pages.
//!
//! # Which component uses it
//!
//! The home mComponent keeps a process's whole tree: address-space operations need to see
//! every mapping to place new ones with Linux's rules. A vRegion's owner keeps the part of the
//! tree inside its vRegions ([`VmaTree::vmas_in`] at the home, [`VmaTree::install`] at the
//! owner) to check the accesses pComponents ask it to serve.
//!
//! # Costs
//!
//! Lookups are O(log n). A search for a free range walks the gaps from `mmap_base` down, O(n)
//! in the worst case (Linux keeps the largest gap of each subtree to make it O(log n)); merging
//! keeps n small for the usual mmap patterns, and n is bounded by `max_map_count`.

mod advise;
mod map;
mod protect;
mod remap;
mod search;
mod stack;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use core::ops::{BitOr, Range};

use crate::{Error, Layout, PAGE_SIZE};

pub use map::{MapRequest, Mapped, Placement};
pub use remap::{Move, Remap, RemapFlags};
pub use stack::{Access, Fault, Hit};

/// Linux's default `vm.max_map_count`.
pub const DEFAULT_MAX_MAP_COUNT: usize = 65530;

/// The largest file offset a mapping may reach (Linux's `MAX_LFS_FILESIZE`, `i64::MAX`).
pub const MAX_FILE_OFFSET: u64 = i64::MAX as u64;

/// Page protection: any combination of read, write and execute.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prot(u8);

impl Prot {
    /// No access (`PROT_NONE`).
    pub const NONE: Prot = Prot(0);
    /// `PROT_READ`.
    pub const READ: Prot = Prot(1);
    /// `PROT_WRITE`.
    pub const WRITE: Prot = Prot(2);
    /// `PROT_EXEC`.
    pub const EXEC: Prot = Prot(4);
    /// Read and write.
    pub const RW: Prot = Prot(3);
    /// Read and execute.
    pub const RX: Prot = Prot(5);
    /// Everything.
    pub const RWX: Prot = Prot(7);

    /// The protection of Linux `PROT_*` bits, ignoring the others (as `mmap` does).
    pub const fn from_bits_truncate(bits: u32) -> Prot {
        Prot((bits & 7) as u8)
    }

    /// The `PROT_*` bits.
    pub const fn bits(self) -> u32 {
        self.0 as u32
    }

    /// Whether every access `other` allows, `self` allows too.
    pub const fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no access is allowed.
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Prot {
    type Output = Prot;
    fn bitor(self, rhs: Prot) -> Prot {
        Prot(self.0 | rhs.0)
    }
}

impl fmt::Debug for Prot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |p: Prot, ch: char| if self.contains(p) { ch } else { '-' };
        write!(
            f,
            "{}{}{}",
            c(Prot::READ, 'r'),
            c(Prot::WRITE, 'w'),
            c(Prot::EXEC, 'x')
        )
    }
}

/// Vma flags other than protection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VmFlags(u8);

impl VmFlags {
    /// Private (copy-on-write) mapping, the usual case.
    pub const PRIVATE: VmFlags = VmFlags(0);
    /// `MAP_SHARED`: writes reach the file (for file mappings) and survive `MADV_DONTNEED`.
    pub const SHARED: VmFlags = VmFlags(1);
    /// `VM_GROWSDOWN`: a stack that extends down on a fault just below it. Anonymous only.
    pub const GROWS_DOWN: VmFlags = VmFlags(2);

    /// Whether all flags of `other` are set.
    pub const fn contains(self, other: VmFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the mapping is shared.
    pub const fn shared(self) -> bool {
        self.contains(VmFlags::SHARED)
    }

    /// Whether the mapping grows down.
    pub const fn grows_down(self) -> bool {
        self.contains(VmFlags::GROWS_DOWN)
    }
}

impl BitOr for VmFlags {
    type Output = VmFlags;
    fn bitor(self, rhs: VmFlags) -> VmFlags {
        VmFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for VmFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.shared() { "shared" } else { "private" })?;
        if self.grows_down() {
            f.write_str("|grows-down")?;
        }
        Ok(())
    }
}

/// What backs a vma's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Anonymous memory: reads as zero until written.
    Anon,
    /// A file: page `start + i` of the vma is byte `offset + i` of the file. `file` is an
    /// opaque id the monitor maps to a (vNode, path).
    File {
        /// The monitor's id of the file.
        file: u32,
        /// File offset of the vma's first byte (page-aligned).
        offset: u64,
    },
}

/// One mapped range.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vma {
    /// First byte (page-aligned).
    pub start: u64,
    /// One past the last byte (page-aligned, > `start`).
    pub end: u64,
    /// Current protection.
    pub prot: Prot,
    /// The most `mprotect` may grant (Linux's `VM_MAY*`): everything, except for a shared
    /// mapping of a file not open for writing, which may not become writable.
    pub max_prot: Prot,
    /// Shared or private, grows-down.
    pub flags: VmFlags,
    /// Anonymous or file-backed.
    pub kind: Kind,
}

impl fmt::Debug for Vma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#x}-{:#x} {:?}/{:?} {:?} {:?}",
            self.start, self.end, self.prot, self.max_prot, self.flags, self.kind
        )
    }
}

impl Vma {
    /// Bytes covered.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Never true for a vma in a tree; for the `len` lint.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether `addr` is inside.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// Whether the vma is anonymous.
    pub fn is_anon(&self) -> bool {
        self.kind == Kind::Anon
    }

    /// The file offset of `addr` (for a file vma; `addr` inside or at the end).
    pub fn offset_at(&self, addr: u64) -> Option<u64> {
        match self.kind {
            Kind::Anon => None,
            Kind::File { offset, .. } => Some(offset + (addr - self.start)),
        }
    }

    /// The part of the vma inside `[lo, hi)` (which must intersect it), file offset adjusted.
    pub fn clip(&self, lo: u64, hi: u64) -> Vma {
        let start = self.start.max(lo);
        let end = self.end.min(hi);
        Vma {
            start,
            end,
            kind: self.kind_at(start),
            ..*self
        }
    }

    /// The kind of a vma with these attributes starting at `addr` instead of `start`. For a
    /// file, `addr` may be below `start` only as far as the offset allows (callers check).
    fn kind_at(&self, addr: u64) -> Kind {
        match self.kind {
            Kind::Anon => Kind::Anon,
            Kind::File { file, offset } => Kind::File {
                file,
                offset: offset.wrapping_add(addr.wrapping_sub(self.start)),
            },
        }
    }

    /// Whether `next` (starting where `self` ends) could be part of the same vma: same
    /// protection, limit and flags, both anonymous or the same file at contiguous offsets.
    pub fn can_merge(&self, next: &Vma) -> bool {
        self.end == next.start
            && self.prot == next.prot
            && self.max_prot == next.max_prot
            && self.flags == next.flags
            && match (self.kind, next.kind) {
                (Kind::Anon, Kind::Anon) => true,
                (Kind::File { file: a, offset: o }, Kind::File { file: b, offset: p }) => {
                    a == b && o.checked_add(self.len()) == Some(p)
                }
                _ => false,
            }
    }

    /// Linux's `vm_start_gap`: the lowest address another mapping may end at below this vma
    /// (its start, or the guard gap below it for a grows-down vma).
    pub(crate) fn start_gap(&self, guard: u64) -> u64 {
        if self.flags.grows_down() {
            self.start.saturating_sub(guard)
        } else {
            self.start
        }
    }
}

/// A process's vma tree. See the module documentation.
#[derive(Clone, Debug)]
pub struct VmaTree {
    vmas: BTreeMap<u64, Vma>,
    layout: Layout,
    max_count: usize,
}

impl VmaTree {
    /// An empty address space with `layout` (sanitised, see [`Layout::sanitized`]) holding at
    /// most `max_count` vmas ([`DEFAULT_MAX_MAP_COUNT`] as Linux).
    pub fn new(layout: Layout, max_count: usize) -> VmaTree {
        VmaTree {
            vmas: BTreeMap::new(),
            layout: layout.sanitized(),
            max_count,
        }
    }

    /// The layout in use.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Sets `RLIMIT_STACK` for later stack growth (`setrlimit`); the mmap base stays where
    /// `execve` put it, as in Linux.
    pub fn set_stack_limit(&mut self, limit: u64) {
        self.layout.stack_limit = limit;
    }

    /// The vma bound.
    pub fn max_count(&self) -> usize {
        self.max_count
    }

    /// Number of vmas.
    pub fn len(&self) -> usize {
        self.vmas.len()
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.vmas.is_empty()
    }

    /// The vmas in address order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Vma> + '_ {
        self.vmas.values()
    }

    /// The vma containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.vmas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.end > addr)
    }

    /// The first vma ending above `addr` (containing it or the next one above it): Linux's
    /// `find_vma`.
    pub fn find_from(&self, addr: u64) -> Option<&Vma> {
        self.find(addr)
            .or_else(|| self.vmas.range(addr..).next().map(|(_, v)| v))
    }

    /// The vmas intersecting `[lo, hi)`, in order, unclipped.
    pub fn intersecting(&self, lo: u64, hi: u64) -> impl Iterator<Item = &Vma> + '_ {
        let first = self.find(lo).filter(|_| lo < hi);
        let rest = self.vmas.range(lo..hi.max(lo)).map(|(_, v)| v);
        first
            .into_iter()
            .chain(rest.filter(move |v| v.start != lo || first.is_none()))
    }

    /// The vmas intersecting `range`, clipped to it: what the home sends a vRegion's owner.
    pub fn vmas_in(&self, range: Range<u64>) -> impl Iterator<Item = Vma> + '_ {
        self.intersecting(range.start, range.end)
            .map(move |v| v.clip(range.start, range.end))
    }

    /// Bytes mapped inside `range`.
    pub fn mapped_bytes(&self, range: Range<u64>) -> u64 {
        self.vmas_in(range).map(|v| v.len()).sum()
    }

    /// Replaces what is mapped in `range` by `vmas` (sorted, disjoint, inside `range`,
    /// page-aligned, with valid offsets): an owner installs the home's view of its vRegion.
    /// Adjacent compatible vmas are merged. [`Error::InvalidRange`] for a malformed input,
    /// [`Error::MapCount`] past the bound; nothing changes on an error.
    pub fn install(&mut self, range: Range<u64>, vmas: &[Vma]) -> Result<(), Error> {
        let (lo, hi) = (range.start, range.end);
        if !(aligned(lo) && aligned(hi) && lo <= hi && hi <= self.layout.task_size) {
            return Err(Error::InvalidRange);
        }
        let mut at = lo;
        for v in vmas {
            if !(aligned(v.start) && aligned(v.end) && at <= v.start && v.start < v.end)
                || v.end > hi
                || !valid_kind(v)
            {
                return Err(Error::InvalidRange);
            }
            at = v.end;
        }
        self.rewrite(lo, hi, vmas).map(|_| ())
    }

    /// Checks the invariants (see the module documentation): O(n), for tests.
    pub fn verify(&self) -> Result<(), &'static str> {
        if self.vmas.len() > self.max_count {
            return Err("more vmas than max_map_count");
        }
        let mut prev: Option<&Vma> = None;
        for (&k, v) in &self.vmas {
            if k != v.start {
                return Err("key is not the vma's start");
            }
            if !(aligned(v.start) && aligned(v.end)) {
                return Err("vma not page-aligned");
            }
            if v.start >= v.end {
                return Err("empty vma");
            }
            if v.end > self.layout.task_size {
                return Err("vma beyond task_size");
            }
            if !valid_kind(v) {
                return Err(
                    "bad kind: unaligned or overflowing offset, or a file or shared vma that grows down",
                );
            }
            if let Some(p) = prev {
                if p.end > v.start {
                    return Err("vmas overlap");
                }
                if p.can_merge(v) {
                    return Err("adjacent compatible vmas not merged");
                }
            }
            prev = Some(v);
        }
        Ok(())
    }

    /// Replaces what is mapped in `[lo, hi)` by `new` (sorted, disjoint, inside `[lo, hi)`),
    /// merging at the edges and among the new pieces. Returns what was removed, clipped to
    /// `[lo, hi)`. All or nothing: [`Error::MapCount`] if the result would hold more than
    /// `max_count` vmas.
    fn rewrite(&mut self, lo: u64, hi: u64, new: &[Vma]) -> Result<Vec<Vma>, Error> {
        self.rewrite_inner(lo, hi, new, true)
    }

    /// [`VmaTree::rewrite`] without the count check, for operations made of several rewrites
    /// ([`Txn`]), whose intermediate states may briefly hold more vmas than the final one.
    fn rewrite_inner(
        &mut self,
        lo: u64,
        hi: u64,
        new: &[Vma],
        check: bool,
    ) -> Result<Vec<Vma>, Error> {
        let hi = hi.max(lo);
        // Every vma intersecting [lo, hi) or touching it (for merging).
        let mut old: Vec<Vma> = Vec::new();
        if let Some((_, v)) = self.vmas.range(..lo).next_back()
            && v.end >= lo
        {
            old.push(*v);
        }
        old.extend(self.vmas.range(lo..=hi).map(|(_, v)| *v));

        let mut out: Vec<Vma> = Vec::with_capacity(new.len() + 2);
        let mut removed = Vec::new();
        for v in &old {
            if v.start < lo {
                push_merged(&mut out, v.clip(v.start, lo));
            }
        }
        for v in new {
            push_merged(&mut out, *v);
        }
        for v in &old {
            if lo < hi && v.start < hi && v.end > lo {
                removed.push(v.clip(lo, hi));
            }
            if v.end > hi {
                push_merged(&mut out, v.clip(hi, v.end));
            }
        }
        let count = self.vmas.len() - old.len() + out.len();
        if check && count > self.max_count {
            return Err(Error::MapCount);
        }
        for v in &old {
            self.vmas.remove(&v.start);
        }
        for v in out {
            self.vmas.insert(v.start, v);
        }
        Ok(removed)
    }
}

/// Several rewrites applied as one: each is applied without the count check, and
/// [`Txn::commit`] checks the final count and undoes everything if it is over the bound.
/// Undoing a rewrite is rewriting its range with what it removed: the tree was canonical
/// before, so the same pages with the same attributes give back the same vmas.
struct Txn<'a> {
    tree: &'a mut VmaTree,
    undo: Vec<(u64, u64, Vec<Vma>)>,
}

impl<'a> Txn<'a> {
    fn new(tree: &'a mut VmaTree) -> Txn<'a> {
        Txn {
            tree,
            undo: Vec::new(),
        }
    }

    /// Replaces `[lo, hi)` by `new`; returns what was removed.
    fn rewrite(&mut self, lo: u64, hi: u64, new: &[Vma]) -> Vec<Vma> {
        // Unchecked rewrites cannot fail.
        let removed = self
            .tree
            .rewrite_inner(lo, hi, new, false)
            .unwrap_or_default();
        self.undo.push((lo, hi, removed.clone()));
        removed
    }

    fn commit(self) -> Result<(), Error> {
        if self.tree.vmas.len() <= self.tree.max_count {
            return Ok(());
        }
        for (lo, hi, removed) in self.undo.into_iter().rev() {
            let _ = self.tree.rewrite_inner(lo, hi, &removed, false);
        }
        Err(Error::MapCount)
    }
}

/// Appends `v`, merging it into the last vma if compatible.
fn push_merged(out: &mut Vec<Vma>, v: Vma) {
    if let Some(last) = out.last_mut()
        && last.can_merge(&v)
    {
        last.end = v.end;
        return;
    }
    out.push(v);
}

pub(crate) fn aligned(a: u64) -> bool {
    a.is_multiple_of(PAGE_SIZE)
}

/// A file vma's offset is page-aligned and its end stays within [`MAX_FILE_OFFSET`]; only
/// private anonymous vmas grow down.
fn valid_kind(v: &Vma) -> bool {
    match v.kind {
        Kind::Anon => !(v.flags.grows_down() && v.flags.shared()),
        Kind::File { offset, .. } => {
            aligned(offset)
                && !v.flags.grows_down()
                && offset
                    .checked_add(v.end - v.start)
                    .is_some_and(|e| e <= MAX_FILE_OFFSET)
        }
    }
}
