//! The memory model: upper bounds on what the in-memory structures cost on the heap, so that
//! the filesystem can refuse an operation (or a mount) *before* it runs out of memory. A guest
//! panics when an allocation fails, so these are bounds, not averages: every structure is
//! charged as if its allocator, hash table or B-tree were as wasteful as it can be, and
//! `tests/memory.rs` checks them against a counting allocator.
//!
//! The costs follow the libraries' own layouts: `hashbrown` tables (buckets of the item plus a
//! control byte each, a power of two at most 7/8 full), `alloc`'s B-trees (nodes of 11 keys,
//! every node but the root at least 5 full), and the guest heap (`talc`: an 8-byte tag per
//! allocation, sizes rounded to 8, 16-byte alignment for tables).

/// What one heap allocation of `bytes` costs at most (tag, rounding, alignment).
pub(crate) const fn heap(bytes: u64) -> u64 {
    if bytes == 0 {
        0
    } else {
        bytes.div_ceil(8) * 8 + 16
    }
}

/// Buckets `hashbrown` gives a table sized for `cap` items (at least; `capacity_to_buckets`).
pub(crate) fn buckets_for(cap: u64) -> u64 {
    match cap {
        0 => 0,
        1..=3 => 4,
        4..=7 => 8,
        8..=14 => 16,
        _ => (cap.saturating_mul(8) / 7).next_power_of_two(),
    }
}

/// Heap cost of a `hashbrown` table of `buckets` buckets of `item` bytes.
pub(crate) fn table_bytes(buckets: u64, item: u64) -> u64 {
    if buckets == 0 {
        return 0;
    }
    heap((buckets * item).div_ceil(16) * 16 + buckets + 16)
}

/// Buckets of a table whose allocation is `alloc` bytes (its `allocation_size`: buckets of
/// the item and a control byte each, and a group of control bytes), items of `item`.
fn buckets_of(alloc: u64, item: u64) -> u64 {
    alloc.saturating_sub(16) / (item + 1)
}

/// The most a table holding `len` of `cap` items (its allocation `alloc` bytes) allocates
/// while `more` items are inserted: the new table, allocated while the old one still exists.
/// Zero if they fit.
pub(crate) fn table_growth(alloc: u64, len: u64, cap: u64, more: u64, item: u64) -> u64 {
    if len + more <= cap {
        return 0;
    }
    let now = buckets_of(alloc, item);
    table_bytes(buckets_for(len + more).max(now * 2), item)
}

/// Heap cost of an `alloc::collections::BTreeMap` of `n` entries with keys of `key` bytes
/// and values of `val` bytes: every node but the root holds at least 5 of 11 keys, every
/// internal node but the root has at least 6 children.
pub(crate) fn btree_bytes(n: u64, key: u64, val: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let leaf = (8 + 11 * (key + val) + 4).div_ceil(8) * 8;
    let internal = leaf + 12 * 8;
    let nodes = 1 + (n - 1) / 5;
    let internals = if nodes > 1 { (nodes + 3) / 6 } else { 0 };
    (nodes - internals) * heap(leaf) + internals * heap(internal)
}

/// Growth of a sorted `Vec` of directory entries: when full, it grows by half (at least 4),
/// exactly (see `namespace::Children`), so its capacity stays within 1.5x of the most entries
/// it held.
pub(crate) const fn grown_capacity(len: u64) -> u64 {
    let more = len / 2;
    len + if more < 4 { 4 } else { more }
}

/// A filesystem's memory budget and how it is split (see [`MountOptions`](crate::MountOptions)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// Everything the filesystem may allocate.
    pub total: u64,
    /// Bytes kept for the fixed buffers (journal's pending records, block buffers, mount's
    /// stream buffers).
    pub fixed: u64,
    /// Uncommitted records before an operation commits first.
    pub pending: u64,
}

/// Fixed working memory besides the pending records: block buffers (4 KiB each), mount's batch
/// buffer (64 KiB) and record carry (8 KiB), a tree walk's stack (48 KiB: paths are at most
/// 2048 levels deep), a checkpoint's record scratch (8 KiB), a B-tree node promoted for one
/// operation, a rename's path scratch, the reservations (1 KiB).
pub(crate) const WORKING: u64 = 160 << 10;
/// Most record bytes one operation appends (a create with a 4 KiB path, or a rename and the
/// removal it implies, or a 32 KiB write's maps).
pub(crate) const MAX_OP_RECORDS: u64 = 9 << 10;
/// Most uncommitted records (`Fs::begin` commits first past this).
pub(crate) const MAX_PENDING: u64 = 1 << 20;

impl Budget {
    pub fn new(total: u64) -> Budget {
        let pending = (total / 32).clamp(32 << 10, MAX_PENDING);
        Budget {
            total,
            fixed: WORKING + heap(pending + MAX_OP_RECORDS),
            pending,
        }
    }

    /// What the metadata structures may use while serving: 7/8 of what is left after the
    /// fixed buffers. The rest is mount's slack: rebuilding the same metadata from the disk
    /// grows tables and directory vectors in another order, and the old and new table of one
    /// growth coexist for a moment (at most half the largest table, or a third of the largest
    /// directory's entries).
    pub fn live(&self) -> u64 {
        self.total.saturating_sub(self.fixed) / 8 * 7
    }

    /// What the metadata structures may use while mounting.
    pub fn mount(&self) -> u64 {
        self.total.saturating_sub(self.fixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_grow_with_their_input() {
        assert_eq!(heap(0), 0);
        assert_eq!(heap(1), 24);
        assert_eq!(heap(8), 24);
        assert_eq!(buckets_for(3), 4);
        assert_eq!(buckets_for(14), 16);
        assert_eq!(buckets_for(15), 32);
        assert_eq!(buckets_for(28), 32);
        assert_eq!(buckets_for(29), 64);
        for n in 1..2000 {
            assert!(btree_bytes(n + 1, 8, 8) >= btree_bytes(n, 8, 8));
            assert!(buckets_for(n) * 7 / 8 >= n || buckets_for(n) > n);
        }
        // Inserting into a full table costs a table twice the size (`allocation_size` is
        // the table's own figure, without the heap's overhead).
        let b = 32 * 8 + 32 + 16;
        assert_eq!(table_growth(b, 28, 28, 1, 8), table_bytes(64, 8));
        assert_eq!(table_growth(b, 20, 28, 8, 8), 0);
        assert_eq!(grown_capacity(0), 4);
        assert_eq!(grown_capacity(100), 150);
    }

    #[test]
    fn budget_splits() {
        let b = Budget::new(8 << 20);
        assert_eq!(b.pending, 256 << 10);
        assert!(b.live() < b.mount() && b.mount() < b.total);
        let tiny = Budget::new(0);
        assert_eq!((tiny.live(), tiny.mount()), (0, 0));
        assert_eq!(Budget::new(u64::MAX).pending, MAX_PENDING);
    }
}
