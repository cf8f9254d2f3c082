//! Page slots: the metadata of each arena frame, the eviction order, and the index from
//! (file id, page index) to slot.
//!
//! Slot `i` describes frame `i` of the arena. Every slot is in exactly one state:
//! `Free` (in the free list), `Clean` or `Dirty` (cached: in that LRU list, in the index and in
//! its file's page list) or `Held` (taken by an operation in progress, in no list, so nothing
//! can evict it). Lists are intrusive and doubly linked by `u32` slot numbers; the head of an
//! LRU list is its coldest page. The index is a `HashTable<u32>` of slot numbers hashed by the
//! slot's (file, page), so a page costs 4 bytes in it instead of a copy of the key, and it is
//! pre-sized for the whole arena so it never reallocates.

use alloc::vec::Vec;
use core::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

/// "No slot" in links.
pub(crate) const NIL: u32 = u32::MAX;

/// What a slot is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Free,
    Clean,
    Dirty,
    Held,
}

impl State {
    fn list(self) -> Option<usize> {
        match self {
            State::Free => Some(0),
            State::Clean => Some(1),
            State::Dirty => Some(2),
            State::Held => None,
        }
    }
}

/// 32 bytes per frame.
#[derive(Clone, Copy, Debug)]
struct Meta {
    page: u64,
    file: u32,
    /// LRU (or free) list links.
    prev: u32,
    next: u32,
    /// Links in the owning file's page list.
    fprev: u32,
    fnext: u32,
    state: State,
}

#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
    len: usize,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
    len: 0,
};

pub(crate) struct Slots {
    meta: Vec<Meta>,
    /// Free, clean, dirty.
    lists: [List; 3],
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

fn key_hash(hasher: &DefaultHashBuilder, file: u32, page: u64) -> u64 {
    hasher.hash_one((file, page))
}

impl Slots {
    /// `n` free slots (`n < NIL`).
    pub(crate) fn new(n: usize) -> Slots {
        let mut s = Slots {
            meta: Vec::with_capacity(n),
            lists: [EMPTY; 3],
            index: HashTable::with_capacity(n),
            hasher: DefaultHashBuilder::default(),
        };
        for i in 0..n {
            s.meta.push(Meta {
                page: 0,
                file: NIL,
                prev: NIL,
                next: NIL,
                fprev: NIL,
                fnext: NIL,
                state: State::Held,
            });
            s.push_tail(i as u32, State::Free);
        }
        s
    }

    pub(crate) fn capacity(&self) -> usize {
        self.meta.len()
    }

    /// Number of slots in state `st` (not `Held`).
    pub(crate) fn count(&self, st: State) -> usize {
        st.list().map_or(0, |l| self.lists[l].len)
    }

    /// The coldest slot in state `st`.
    pub(crate) fn coldest(&self, st: State) -> Option<u32> {
        let l = st.list()?;
        let h = self.lists[l].head;
        (h != NIL).then_some(h)
    }

    /// The slot caching page `page` of file `file`.
    pub(crate) fn lookup(&self, file: u32, page: u64) -> Option<u32> {
        let meta = &self.meta;
        self.index
            .find(key_hash(&self.hasher, file, page), |&s| {
                let m = &meta[s as usize];
                m.file == file && m.page == page
            })
            .copied()
    }

    /// Whether page `page` of `file` is cached and dirty.
    pub(crate) fn is_dirty(&self, file: u32, page: u64) -> bool {
        self.lookup(file, page)
            .is_some_and(|s| self.state(s) == State::Dirty)
    }

    pub(crate) fn page(&self, s: u32) -> u64 {
        self.meta[s as usize].page
    }

    pub(crate) fn file(&self, s: u32) -> u32 {
        self.meta[s as usize].file
    }

    pub(crate) fn state(&self, s: u32) -> State {
        self.meta[s as usize].state
    }

    /// The next warmer slot after `s` in its LRU list, if any.
    pub(crate) fn lru_next(&self, s: u32) -> Option<u32> {
        let n = self.meta[s as usize].next;
        (n != NIL).then_some(n)
    }

    /// The slot after `s` in its file's page list.
    pub(crate) fn next_in_file(&self, s: u32) -> u32 {
        self.meta[s as usize].fnext
    }

    /// The slots of a file's page list starting at `head`, in no particular order.
    pub(crate) fn file_slots(&self, head: u32) -> impl Iterator<Item = u32> + '_ {
        let mut s = head;
        core::iter::from_fn(move || {
            if s == NIL {
                return None;
            }
            let cur = s;
            s = self.meta[cur as usize].fnext;
            Some(cur)
        })
    }

    /// Takes a free slot (now `Held`): the most recently freed one, else the next never used.
    pub(crate) fn take_free(&mut self) -> Option<u32> {
        let s = self.coldest(State::Free)?;
        self.unlink(s);
        Some(s)
    }

    /// Returns a `Held` slot to the free list, at its head: [`Slots::take_free`] hands out the
    /// most recently freed page first, whose memory is warm (in a guest, a page never touched
    /// before costs a host page fault, ~15 µs on PVM, on its first use).
    pub(crate) fn release(&mut self, s: u32) {
        if self.state(s) == State::Held {
            self.meta[s as usize].file = NIL;
            self.push_head(s, State::Free);
        }
    }

    /// Makes a `Held` slot cache page `page` of `file` (whose page list starts at `*fhead`),
    /// as the hottest page of list `st` (`Clean` or `Dirty`).
    pub(crate) fn install(&mut self, s: u32, file: u32, page: u64, st: State, fhead: &mut u32) {
        if self.state(s) != State::Held || !matches!(st, State::Clean | State::Dirty) {
            return;
        }
        let head = *fhead;
        let m = &mut self.meta[s as usize];
        m.file = file;
        m.page = page;
        m.fprev = NIL;
        m.fnext = head;
        if head != NIL {
            self.meta[head as usize].fprev = s;
        }
        *fhead = s;
        let (meta, hasher) = (&self.meta, &self.hasher);
        self.index
            .insert_unique(key_hash(hasher, file, page), s, |&x| {
                let m = &meta[x as usize];
                key_hash(hasher, m.file, m.page)
            });
        self.push_tail(s, st);
    }

    /// Uncaches a `Clean` or `Dirty` slot (now `Held`), unlinking it from its file's page list
    /// starting at `*fhead`.
    pub(crate) fn remove(&mut self, s: u32, fhead: &mut u32) {
        if !matches!(self.state(s), State::Clean | State::Dirty) {
            return;
        }
        self.unlink(s);
        let m = self.meta[s as usize];
        if let Ok(e) = self
            .index
            .find_entry(key_hash(&self.hasher, m.file, m.page), |&x| x == s)
        {
            e.remove();
        }
        if m.fprev == NIL {
            *fhead = m.fnext;
        } else {
            self.meta[m.fprev as usize].fnext = m.fnext;
        }
        if m.fnext != NIL {
            self.meta[m.fnext as usize].fprev = m.fprev;
        }
        let m = &mut self.meta[s as usize];
        m.fprev = NIL;
        m.fnext = NIL;
        m.file = NIL;
    }

    /// Marks a cached slot as just used: hottest of its list.
    pub(crate) fn touch(&mut self, s: u32) {
        let st = self.state(s);
        if matches!(st, State::Clean | State::Dirty) {
            self.unlink(s);
            self.push_tail(s, st);
        }
    }

    /// Marks a cached slot dirty and hottest.
    pub(crate) fn set_dirty(&mut self, s: u32) {
        if matches!(self.state(s), State::Clean | State::Dirty) {
            self.unlink(s);
            self.push_tail(s, State::Dirty);
        }
    }

    /// Marks a dirty slot clean (it was written back) and the coldest clean page: it has not
    /// been used since it was written, and write-back for eviction wants it next.
    pub(crate) fn set_clean_cold(&mut self, s: u32) {
        if self.state(s) == State::Dirty {
            self.unlink(s);
            self.push_head(s, State::Clean);
        }
    }

    fn push_tail(&mut self, s: u32, st: State) {
        let Some(l) = st.list() else { return };
        let tail = self.lists[l].tail;
        let m = &mut self.meta[s as usize];
        m.state = st;
        m.prev = tail;
        m.next = NIL;
        if tail == NIL {
            self.lists[l].head = s;
        } else {
            self.meta[tail as usize].next = s;
        }
        self.lists[l].tail = s;
        self.lists[l].len += 1;
    }

    fn push_head(&mut self, s: u32, st: State) {
        let Some(l) = st.list() else { return };
        let head = self.lists[l].head;
        let m = &mut self.meta[s as usize];
        m.state = st;
        m.prev = NIL;
        m.next = head;
        if head == NIL {
            self.lists[l].tail = s;
        } else {
            self.meta[head as usize].prev = s;
        }
        self.lists[l].head = s;
        self.lists[l].len += 1;
    }

    /// Takes `s` out of its list (now `Held`).
    fn unlink(&mut self, s: u32) {
        let m = self.meta[s as usize];
        let Some(l) = m.state.list() else { return };
        if m.prev == NIL {
            self.lists[l].head = m.next;
        } else {
            self.meta[m.prev as usize].next = m.next;
        }
        if m.next == NIL {
            self.lists[l].tail = m.prev;
        } else {
            self.meta[m.next as usize].prev = m.prev;
        }
        self.lists[l].len -= 1;
        let m = &mut self.meta[s as usize];
        m.state = State::Held;
        m.prev = NIL;
        m.next = NIL;
    }

    /// Checks lists, states and the index.
    pub(crate) fn verify(&self) -> Result<(), &'static str> {
        let mut seen = 0usize;
        for (l, st) in [State::Free, State::Clean, State::Dirty]
            .into_iter()
            .enumerate()
        {
            let list = &self.lists[l];
            let (mut s, mut prev, mut n) = (list.head, NIL, 0usize);
            while s != NIL {
                let m = self.meta.get(s as usize).ok_or("link out of range")?;
                if m.state != st || m.prev != prev {
                    return Err("broken LRU list");
                }
                n += 1;
                if n > self.meta.len() {
                    return Err("LRU list cycle");
                }
                if st != State::Free && self.lookup(m.file, m.page) != Some(s) {
                    return Err("cached page not indexed");
                }
                prev = s;
                s = m.next;
            }
            if list.tail != prev || list.len != n {
                return Err("LRU list length or tail");
            }
            seen += n;
        }
        if seen != self.meta.len() {
            return Err("slots held outside an operation");
        }
        if self.index.len() != self.lists[1].len + self.lists[2].len {
            return Err("index size");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_is_32_bytes() {
        assert_eq!(core::mem::size_of::<Meta>(), 32);
    }

    #[test]
    fn lru_order_and_states() {
        let mut s = Slots::new(4);
        let mut head = NIL;
        let a: Vec<u32> = (0..4).map(|_| s.take_free().unwrap()).collect();
        assert_eq!(s.take_free(), None);
        for (i, &x) in a.iter().enumerate() {
            s.install(x, 7, i as u64, State::Clean, &mut head);
        }
        assert_eq!(s.coldest(State::Clean), Some(a[0]));
        s.touch(a[0]);
        assert_eq!(s.coldest(State::Clean), Some(a[1]));
        s.set_dirty(a[1]);
        assert_eq!(s.coldest(State::Clean), Some(a[2]));
        assert_eq!(s.coldest(State::Dirty), Some(a[1]));
        s.set_clean_cold(a[1]);
        assert_eq!(s.coldest(State::Clean), Some(a[1]));
        assert_eq!(s.lookup(7, 3), Some(a[3]));
        s.remove(a[3], &mut head);
        assert_eq!(s.lookup(7, 3), None);
        assert_eq!(s.file_slots(head).count(), 3);
        s.release(a[3]);
        s.verify().unwrap();
        assert_eq!(s.count(State::Clean), 3);
        assert_eq!(s.count(State::Free), 1);
    }

    #[test]
    fn the_most_recently_freed_slot_is_reused_first() {
        let mut s = Slots::new(8);
        let mut head = NIL;
        // Fresh slots come in order; freed ones come back newest first.
        let a: Vec<u32> = (0..3).map(|_| s.take_free().unwrap()).collect();
        assert_eq!(a, [0, 1, 2]);
        for (i, &x) in a.iter().enumerate() {
            s.install(x, 1, i as u64, State::Clean, &mut head);
        }
        for &x in &a {
            s.remove(x, &mut head);
            s.release(x);
        }
        s.verify().unwrap();
        let b: Vec<u32> = (0..4).map(|_| s.take_free().unwrap()).collect();
        assert_eq!(b, [2, 1, 0, 3]);
    }
}
