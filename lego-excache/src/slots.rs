//! Per-slot metadata, the per-set lists, the list of picked victims and the tag index.
//!
//! Slot `i` is way `i % ways` of set `i / ways`. A slot's [`Meta`] is 24 bytes:
//! * `word`: the line number (bits 0-51: a virtual address shifted right by at least 12 fits),
//!   the state (bits 56-58), the dirty bit (59) and the gone bit (60: the line was
//!   invalidated while in flight, its key is no longer in the index);
//! * `asid`;
//! * `prev`, `next`: links of the one list the slot is in, by state: `Free` slots in their
//!   set's free list (LIFO, `next` only), `Valid` slots in their set's order list (oldest
//!   first: FIFO by fill, LRU by touch), `Evicting` slots in the global pending list (in pick
//!   order). A `Filling` slot is in no list; a `Flushing` slot is in no list and keeps its
//!   flush ticket in `prev`;
//! * `chain`: the next slot in its tag-index bucket.
//!
//! The tag index is one `u32` bucket head per slot, rounded up to a power of two (4 to 8
//! bytes per slot), chained through `chain`: it holds every slot whose key is live (not
//! `Free`, not gone), so a second miss on a line being filled or evicted finds it. Each set
//! costs 24 bytes ([`SetMeta`]). Everything is allocated by [`Slots::new`]; nothing after.

use alloc::vec::Vec;

use crate::config::ConfigError;
use crate::setmap::index_hash;

/// "No slot" in links.
pub(crate) const NIL: u32 = u32::MAX;

const LINE_MASK: u64 = (1 << 52) - 1;
const ST_SHIFT: u32 = 56;
const DIRTY: u64 = 1 << 59;
const GONE: u64 = 1 << 60;

/// The state of a slot, without its dirty and gone bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum St {
    Free = 0,
    Filling = 1,
    Valid = 2,
    Evicting = 3,
    Flushing = 4,
}

impl St {
    fn from_bits(b: u64) -> St {
        match b {
            1 => St::Filling,
            2 => St::Valid,
            3 => St::Evicting,
            4 => St::Flushing,
            _ => St::Free,
        }
    }
}

/// Index of a slot's category in [`Slots::counts`]: free, filling, clean, dirty, evicting,
/// flushing.
fn category(st: St, dirty: bool) -> usize {
    match st {
        St::Free => 0,
        St::Filling => 1,
        St::Valid if dirty => 3,
        St::Valid => 2,
        St::Evicting => 4,
        St::Flushing => 5,
    }
}

/// 24 bytes per slot (see the module documentation).
#[derive(Clone, Copy, Debug)]
struct Meta {
    word: u64,
    asid: u32,
    prev: u32,
    next: u32,
    chain: u32,
}

/// 24 bytes per set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SetMeta {
    /// Oldest and newest valid line (the order list).
    head: u32,
    tail: u32,
    /// Top of the free stack.
    free: u32,
    pub(crate) nfree: u32,
    pub(crate) nvalid: u32,
    pub(crate) nevicting: u32,
}

pub(crate) struct Slots {
    meta: Vec<Meta>,
    sets: Vec<SetMeta>,
    buckets: Vec<u32>,
    bucket_mask: u64,
    ways: u32,
    /// The pending list: `Evicting` slots, oldest pick first.
    pend_head: u32,
    pend_tail: u32,
    /// Slots per category (see [`category`]).
    counts: [u32; 6],
}

fn try_vec<T>(n: usize) -> Result<Vec<T>, ConfigError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| ConfigError::OutOfMemory)?;
    Ok(v)
}

impl Slots {
    /// `slots` free slots in sets of `ways` (`ways` divides `slots`, both non-zero).
    pub(crate) fn new(slots: u32, ways: u32) -> Result<Slots, ConfigError> {
        let n = usize::try_from(slots).map_err(|_| ConfigError::OutOfMemory)?;
        let nb = n
            .checked_next_power_of_two()
            .ok_or(ConfigError::OutOfMemory)?;
        let nsets = slots / ways;
        let mut meta = try_vec(n)?;
        let mut sets = try_vec(nsets as usize)?;
        let mut buckets = try_vec(nb)?;
        for i in 0..slots {
            let last_way = i % ways == ways - 1;
            meta.push(Meta {
                word: 0,
                asid: 0,
                prev: NIL,
                next: if last_way { NIL } else { i + 1 },
                chain: NIL,
            });
        }
        for s in 0..nsets {
            sets.push(SetMeta {
                head: NIL,
                tail: NIL,
                free: s * ways,
                nfree: ways,
                nvalid: 0,
                nevicting: 0,
            });
        }
        buckets.resize(nb, NIL);
        Ok(Slots {
            meta,
            sets,
            buckets,
            bucket_mask: nb as u64 - 1,
            ways,
            pend_head: NIL,
            pend_tail: NIL,
            counts: [slots, 0, 0, 0, 0, 0],
        })
    }

    pub(crate) fn len(&self) -> u32 {
        self.meta.len() as u32
    }

    pub(crate) fn set(&self, set: u32) -> &SetMeta {
        &self.sets[set as usize]
    }

    pub(crate) fn set_of_slot(&self, s: u32) -> u32 {
        s / self.ways
    }

    pub(crate) fn st(&self, s: u32) -> St {
        St::from_bits((self.meta[s as usize].word >> ST_SHIFT) & 7)
    }

    pub(crate) fn dirty(&self, s: u32) -> bool {
        self.meta[s as usize].word & DIRTY != 0
    }

    pub(crate) fn gone(&self, s: u32) -> bool {
        self.meta[s as usize].word & GONE != 0
    }

    pub(crate) fn line(&self, s: u32) -> u64 {
        self.meta[s as usize].word & LINE_MASK
    }

    pub(crate) fn asid(&self, s: u32) -> u32 {
        self.meta[s as usize].asid
    }

    /// The flush ticket of a `Flushing` slot.
    pub(crate) fn ticket(&self, s: u32) -> u32 {
        self.meta[s as usize].prev
    }

    /// Whether the slot's key is in the index.
    pub(crate) fn indexed(&self, s: u32) -> bool {
        self.st(s) != St::Free && !self.gone(s)
    }

    /// Slots per category: free, filling, clean, dirty, evicting, flushing.
    pub(crate) fn counts(&self) -> [u32; 6] {
        self.counts
    }

    /// Sets the state and dirty bit of `s` (line and gone bit kept), keeping the counts.
    fn update(&mut self, s: u32, st: St, dirty: bool) {
        let (old_st, old_dirty) = (self.st(s), self.dirty(s));
        let set = self.set_of_slot(s) as usize;
        let (old, new) = (category(old_st, old_dirty), category(st, dirty));
        self.counts[old] -= 1;
        self.counts[new] += 1;
        let sm = &mut self.sets[set];
        match old_st {
            St::Free => sm.nfree -= 1,
            St::Valid => sm.nvalid -= 1,
            St::Evicting => sm.nevicting -= 1,
            St::Filling | St::Flushing => {}
        }
        match st {
            St::Free => sm.nfree += 1,
            St::Valid => sm.nvalid += 1,
            St::Evicting => sm.nevicting += 1,
            St::Filling | St::Flushing => {}
        }
        let m = &mut self.meta[s as usize];
        m.word = (m.word & (LINE_MASK | GONE))
            | ((st as u64) << ST_SHIFT)
            | if dirty { DIRTY } else { 0 };
    }

    // ------------------------------------------------------------ transitions

    /// Pops a free slot of `set` for the key (`asid`, `line`): now `Filling` and indexed.
    pub(crate) fn take_free(&mut self, set: u32, asid: u32, line: u64) -> Option<u32> {
        let s = self.sets[set as usize].free;
        if s == NIL {
            return None;
        }
        self.sets[set as usize].free = self.meta[s as usize].next;
        self.meta[s as usize] = Meta {
            word: line & LINE_MASK,
            asid,
            prev: NIL,
            next: NIL,
            chain: NIL,
        };
        self.update(s, St::Filling, false);
        self.index_insert(s);
        Some(s)
    }

    /// Frees a slot that is in no list (`Filling` or `Flushing`): out of the index, on top of
    /// its set's free stack (the frame reused next is the one used last: warm in the host's
    /// caches).
    pub(crate) fn release(&mut self, s: u32) {
        if self.indexed(s) {
            self.index_remove(s);
        }
        self.update(s, St::Free, false);
        let set = self.set_of_slot(s) as usize;
        let m = &mut self.meta[s as usize];
        m.word = 0;
        m.asid = 0;
        m.prev = NIL;
        m.next = self.sets[set].free;
        m.chain = NIL;
        self.sets[set].free = s;
    }

    /// A slot in no list (`Filling`, `Flushing`) becomes `Valid`, newest of its set.
    pub(crate) fn make_valid(&mut self, s: u32, dirty: bool) {
        self.update(s, St::Valid, dirty);
        self.order_push_tail(s);
    }

    /// `Valid` -> `Evicting`: leaves its set's order, joins the pending list.
    pub(crate) fn start_evicting(&mut self, s: u32) {
        self.order_unlink(s);
        let d = self.dirty(s);
        self.update(s, St::Evicting, d);
        self.pending_push_tail(s);
    }

    /// `Evicting` -> `Valid` (a rescue): leaves the pending list, newest of its set.
    pub(crate) fn rescue(&mut self, s: u32) {
        self.pending_unlink(s);
        let d = self.dirty(s);
        self.make_valid(s, d);
    }

    /// `Valid` or `Evicting` -> `Flushing` under `ticket`.
    pub(crate) fn start_flushing(&mut self, s: u32, ticket: u32) {
        match self.st(s) {
            St::Valid => self.order_unlink(s),
            St::Evicting => self.pending_unlink(s),
            _ => return,
        }
        let d = self.dirty(s);
        self.update(s, St::Flushing, d);
        self.meta[s as usize].prev = ticket;
    }

    /// `Flushing` -> `Valid` (its write-back failed): newest of its set.
    pub(crate) fn unflush(&mut self, s: u32) {
        self.meta[s as usize].prev = NIL;
        let d = self.dirty(s);
        self.make_valid(s, d);
    }

    /// The line was invalidated: its key leaves the index; the slot keeps its state.
    pub(crate) fn set_gone(&mut self, s: u32) {
        if self.indexed(s) {
            self.index_remove(s);
        }
        self.meta[s as usize].word |= GONE;
    }

    /// A `Valid` slot becomes dirty.
    pub(crate) fn set_dirty(&mut self, s: u32) {
        self.update(s, St::Valid, true);
    }

    /// A `Valid` slot becomes the newest of its set.
    pub(crate) fn move_to_tail(&mut self, s: u32) {
        self.order_unlink(s);
        self.order_push_tail(s);
    }

    /// The oldest valid line of `set`.
    pub(crate) fn order_head(&self, set: u32) -> Option<u32> {
        let h = self.sets[set as usize].head;
        (h != NIL).then_some(h)
    }

    /// The oldest picked victim.
    pub(crate) fn pending_head(&self) -> Option<u32> {
        (self.pend_head != NIL).then_some(self.pend_head)
    }

    // ------------------------------------------------------------ lists

    fn order_push_tail(&mut self, s: u32) {
        let set = self.set_of_slot(s) as usize;
        let tail = self.sets[set].tail;
        let m = &mut self.meta[s as usize];
        m.prev = tail;
        m.next = NIL;
        if tail == NIL {
            self.sets[set].head = s;
        } else {
            self.meta[tail as usize].next = s;
        }
        self.sets[set].tail = s;
    }

    fn order_unlink(&mut self, s: u32) {
        let set = self.set_of_slot(s) as usize;
        let Meta { prev, next, .. } = self.meta[s as usize];
        if prev == NIL {
            self.sets[set].head = next;
        } else {
            self.meta[prev as usize].next = next;
        }
        if next == NIL {
            self.sets[set].tail = prev;
        } else {
            self.meta[next as usize].prev = prev;
        }
        let m = &mut self.meta[s as usize];
        m.prev = NIL;
        m.next = NIL;
    }

    fn pending_push_tail(&mut self, s: u32) {
        let tail = self.pend_tail;
        let m = &mut self.meta[s as usize];
        m.prev = tail;
        m.next = NIL;
        if tail == NIL {
            self.pend_head = s;
        } else {
            self.meta[tail as usize].next = s;
        }
        self.pend_tail = s;
    }

    fn pending_unlink(&mut self, s: u32) {
        let Meta { prev, next, .. } = self.meta[s as usize];
        if prev == NIL {
            self.pend_head = next;
        } else {
            self.meta[prev as usize].next = next;
        }
        if next == NIL {
            self.pend_tail = prev;
        } else {
            self.meta[next as usize].prev = prev;
        }
        let m = &mut self.meta[s as usize];
        m.prev = NIL;
        m.next = NIL;
    }

    // ------------------------------------------------------------ tag index

    fn bucket(&self, asid: u32, line: u64) -> usize {
        (index_hash(asid, line) & self.bucket_mask) as usize
    }

    /// The slot whose live key is (`asid`, `line`).
    pub(crate) fn find(&self, asid: u32, line: u64) -> Option<u32> {
        let mut s = self.buckets[self.bucket(asid, line)];
        while s != NIL {
            let m = &self.meta[s as usize];
            if m.asid == asid && m.word & LINE_MASK == line {
                return Some(s);
            }
            s = m.chain;
        }
        None
    }

    fn index_insert(&mut self, s: u32) {
        let b = self.bucket(self.asid(s), self.line(s));
        self.meta[s as usize].chain = self.buckets[b];
        self.buckets[b] = s;
    }

    fn index_remove(&mut self, s: u32) {
        let b = self.bucket(self.asid(s), self.line(s));
        let next = self.meta[s as usize].chain;
        self.meta[s as usize].chain = NIL;
        if self.buckets[b] == s {
            self.buckets[b] = next;
            return;
        }
        let mut p = self.buckets[b];
        while p != NIL {
            let c = self.meta[p as usize].chain;
            if c == s {
                self.meta[p as usize].chain = next;
                return;
            }
            p = c;
        }
    }

    // ------------------------------------------------------------ checks

    /// Checks the counts, every list and the index: O(slots).
    pub(crate) fn verify(&self) -> Result<(), &'static str> {
        let n = self.meta.len();
        let mut counts = [0u32; 6];
        let mut per_set = alloc::vec![[0u32; 3]; self.sets.len()];
        let mut live = 0usize;
        for s in 0..n as u32 {
            let (st, d) = (self.st(s), self.dirty(s));
            counts[category(st, d)] += 1;
            let c = &mut per_set[self.set_of_slot(s) as usize];
            match st {
                St::Free => c[0] += 1,
                St::Valid => c[1] += 1,
                St::Evicting => c[2] += 1,
                St::Filling | St::Flushing => {}
            }
            if st == St::Free && self.meta[s as usize].word != 0 {
                return Err("free slot with a key");
            }
            if self.indexed(s) {
                live += 1;
                if self.find(self.asid(s), self.line(s)) != Some(s) {
                    return Err("live key not found in the index, or in two slots");
                }
            }
        }
        if counts != self.counts {
            return Err("state counts");
        }
        for (i, sm) in self.sets.iter().enumerate() {
            if per_set[i] != [sm.nfree, sm.nvalid, sm.nevicting] {
                return Err("per-set counts");
            }
            let set = i as u32;
            let (mut s, mut k) = (sm.free, 0u32);
            while s != NIL {
                if s as usize >= n || self.set_of_slot(s) != set || self.st(s) != St::Free {
                    return Err("free list");
                }
                k += 1;
                if k > self.ways {
                    return Err("free list cycle");
                }
                s = self.meta[s as usize].next;
            }
            if k != sm.nfree {
                return Err("free list length");
            }
            let (mut s, mut prev, mut k) = (sm.head, NIL, 0u32);
            while s != NIL {
                if s as usize >= n || self.set_of_slot(s) != set || self.st(s) != St::Valid {
                    return Err("order list");
                }
                if self.meta[s as usize].prev != prev {
                    return Err("order list back link");
                }
                k += 1;
                if k > self.ways {
                    return Err("order list cycle");
                }
                prev = s;
                s = self.meta[s as usize].next;
            }
            if k != sm.nvalid || sm.tail != prev {
                return Err("order list length or tail");
            }
        }
        let (mut s, mut prev, mut k) = (self.pend_head, NIL, 0u32);
        while s != NIL {
            if s as usize >= n || self.st(s) != St::Evicting {
                return Err("pending list");
            }
            if self.meta[s as usize].prev != prev {
                return Err("pending list back link");
            }
            k += 1;
            if k as usize > n {
                return Err("pending list cycle");
            }
            prev = s;
            s = self.meta[s as usize].next;
        }
        if k != self.counts[4] || self.pend_tail != prev {
            return Err("pending list length or tail");
        }
        let mut chained = 0usize;
        for (b, &head) in self.buckets.iter().enumerate() {
            let mut s = head;
            while s != NIL {
                if s as usize >= n || !self.indexed(s) {
                    return Err("index holds a slot without a live key");
                }
                if self.bucket(self.asid(s), self.line(s)) != b {
                    return Err("slot in the wrong bucket");
                }
                chained += 1;
                if chained > n {
                    return Err("index cycle");
                }
                s = self.meta[s as usize].chain;
            }
        }
        if chained != live {
            return Err("index size");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_24_bytes_per_slot_and_24_per_set() {
        assert_eq!(core::mem::size_of::<Meta>(), 24);
        assert_eq!(core::mem::size_of::<SetMeta>(), 24);
    }

    #[test]
    fn free_slots_come_in_way_order_then_most_recently_freed_first() {
        let mut s = Slots::new(8, 4).unwrap();
        let a: Vec<u32> = (0..3).map(|i| s.take_free(1, 9, i).unwrap()).collect();
        assert_eq!(a, [4, 5, 6]);
        s.release(5);
        s.release(4);
        assert_eq!(s.take_free(1, 9, 10), Some(4));
        assert_eq!(s.take_free(1, 9, 11), Some(5));
        assert_eq!(s.take_free(1, 9, 12), Some(7));
        assert_eq!(s.take_free(1, 9, 13), None);
        s.verify().unwrap();
    }

    #[test]
    fn lines_keep_all_52_bits() {
        let mut s = Slots::new(2, 2).unwrap();
        let line = u64::MAX >> 12;
        let x = s.take_free(0, u32::MAX, line).unwrap();
        assert_eq!((s.line(x), s.asid(x)), (line, u32::MAX));
        assert_eq!(s.find(u32::MAX, line), Some(x));
        s.make_valid(x, true);
        assert_eq!((s.st(x), s.dirty(x), s.line(x)), (St::Valid, true, line));
        s.verify().unwrap();
    }
}
