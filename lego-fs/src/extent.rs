//! A file's block map: extents of contiguous disk blocks, each carrying one CRC-32 per block so
//! that a flipped data byte is reported instead of returned.
//!
//! Extents never cross a multiple of [`WINDOW`] file blocks: that bounds one extent's checksum
//! vector (4 KiB), and so one checkpoint record, and any reallocation of it; and since
//! neighbours in a window are always merged, a mapping has exactly one representation,
//! whatever order it was built in (a remount rebuilds the same extents). A file of one extent
//! (most small files) holds it inline, without a B-tree node.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::mem::{btree_bytes, heap};

/// Extents never cross a multiple of this many file blocks.
pub(crate) const WINDOW: u64 = 1024;

/// A run of contiguous disk blocks backing contiguous file blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extent {
    /// First disk block.
    pub disk: u64,
    /// Checksum of each block; the extent is `crcs.len()` blocks long. Its capacity is its
    /// length (the memory model charges exactly that).
    pub crcs: Vec<u32>,
}

impl Extent {
    pub fn len(&self) -> u64 {
        self.crcs.len() as u64
    }

    fn mem(&self) -> u64 {
        heap(4 * self.crcs.capacity() as u64)
    }
}

/// Where disk blocks no longer referenced go: `(first block, count)`.
pub(crate) type Release<'a> = &'a mut dyn FnMut(u64, u64);

#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Runs {
    #[default]
    Empty,
    One(u64, Extent),
    Many(BTreeMap<u64, Extent>),
}

/// File block number → extent starting there. Unmapped file blocks are holes (read as zero).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ExtentMap {
    runs: Runs,
    blocks: u64,
    /// Heap bytes of the extents' checksum vectors.
    crc_mem: u64,
}

impl ExtentMap {
    /// Number of extents.
    pub fn extents(&self) -> u64 {
        match &self.runs {
            Runs::Empty => 0,
            Runs::One(..) => 1,
            Runs::Many(m) => m.len() as u64,
        }
    }

    /// Number of mapped blocks.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Heap bytes this map holds at most.
    pub fn mem(&self) -> u64 {
        let tree = match &self.runs {
            Runs::Many(m) => btree_bytes(m.len() as u64, 8, size_of::<Extent>() as u64),
            _ => 0,
        };
        tree + self.crc_mem
    }

    /// Most heap bytes adding `extents` extents of `blocks` blocks in all could add (a split
    /// extent's two halves counted as one more).
    pub fn growth(&self, extents: u64, blocks: u64) -> u64 {
        let n = self.extents();
        let key = size_of::<Extent>() as u64;
        btree_bytes(n + extents, 8, key) - btree_bytes(n, 8, key) + extents * heap(4) + 4 * blocks
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &Extent)> {
        let (one, many) = match &self.runs {
            Runs::Empty => (None, None),
            Runs::One(f, e) => (Some((*f, e)), None),
            Runs::Many(m) => (None, Some(m.iter().map(|(f, e)| (*f, e)))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// The extent covering file block `fblk`, with its first file block.
    fn covering(&self, fblk: u64) -> Option<(u64, &Extent)> {
        let (start, e) = match &self.runs {
            Runs::Empty => return None,
            Runs::One(f, e) => (*f, e),
            Runs::Many(m) => m.range(..=fblk).next_back().map(|(f, e)| (*f, e))?,
        };
        (start <= fblk && fblk - start < e.len()).then_some((start, e))
    }

    /// The disk block and checksum backing file block `fblk`, if mapped.
    pub fn get(&self, fblk: u64) -> Option<(u64, u32)> {
        let (start, e) = self.covering(fblk)?;
        let off = fblk - start;
        Some((e.disk + off, *e.crcs.get(off as usize)?))
    }

    /// One past the last mapped file block (0 if empty).
    pub fn end(&self) -> u64 {
        match &self.runs {
            Runs::Empty => 0,
            Runs::One(f, e) => f + e.len(),
            Runs::Many(m) => m.iter().next_back().map_or(0, |(s, e)| s + e.len()),
        }
    }

    /// The extents as a B-tree, for an operation that changes them (see [`Self::settle`]).
    fn tree(&mut self) -> &mut BTreeMap<u64, Extent> {
        match core::mem::take(&mut self.runs) {
            Runs::Empty => self.runs = Runs::Many(BTreeMap::new()),
            Runs::One(f, e) => self.runs = Runs::Many(BTreeMap::from([(f, e)])),
            many @ Runs::Many(_) => self.runs = many,
        }
        match &mut self.runs {
            Runs::Many(m) => m,
            // Set just above.
            _ => unreachable!(),
        }
    }

    /// Back to the compact forms once at most one extent is left.
    fn settle(&mut self) {
        if let Runs::Many(m) = &mut self.runs
            && m.len() <= 1
        {
            self.runs = match m.pop_first() {
                None => Runs::Empty,
                Some((f, e)) => Runs::One(f, e),
            };
        }
    }

    /// Unmaps file blocks `from..to`, handing the disk blocks released to `freed`.
    pub fn punch(&mut self, from: u64, to: u64, freed: Release<'_>) {
        if from >= to || self.blocks == 0 {
            return;
        }
        let mut crc_mem = self.crc_mem;
        let mut blocks = self.blocks;
        let m = self.tree();
        // An extent starting before `from` may reach into the range: keep its head.
        if let Some((&s, e)) = m.range_mut(..from).next_back()
            && s + e.len() > from
        {
            let keep = (from - s) as usize;
            crc_mem -= e.mem();
            let tail = Extent {
                disk: e.disk + keep as u64,
                crcs: e.crcs.split_off(keep),
            };
            e.crcs.shrink_to_fit();
            crc_mem += e.mem() + tail.mem();
            m.insert(from, tail);
        }
        while let Some((&s, _)) = m.range(from..to).next() {
            let Some(mut e) = m.remove(&s) else { break };
            crc_mem -= e.mem();
            if s + e.len() > to {
                // Keep the part past `to`.
                let cut = (to - s) as usize;
                let rest = Extent {
                    disk: e.disk + cut as u64,
                    crcs: e.crcs.split_off(cut),
                };
                crc_mem += rest.mem();
                m.insert(to, rest);
            }
            freed(e.disk, e.len());
            blocks -= e.len();
        }
        self.crc_mem = crc_mem;
        self.blocks = blocks;
        self.settle();
    }

    /// Maps file blocks `fblk..fblk + crcs.len()` to disk blocks `disk..`, replacing (and
    /// releasing) whatever was mapped there, and merging with contiguous neighbours in the
    /// same window.
    pub fn map(&mut self, fblk: u64, disk: u64, crcs: &[u32], freed: Release<'_>) {
        let mut done = 0;
        while done < crcs.len() {
            let f = fblk + done as u64;
            let room = (WINDOW - f % WINDOW) as usize;
            let n = room.min(crcs.len() - done);
            self.map_piece(f, disk + done as u64, &crcs[done..done + n], freed);
            done += n;
        }
    }

    /// `map` of a run that lies in one window.
    fn map_piece(&mut self, fblk: u64, disk: u64, crcs: &[u32], freed: Release<'_>) {
        let n = crcs.len() as u64;
        self.punch(fblk, fblk + n, freed);
        self.blocks += n;
        let mut crc_mem = self.crc_mem;
        let m = self.tree();
        let mut start = fblk;
        let mut ext = Extent {
            disk,
            crcs: crcs.to_vec(),
        };
        if !fblk.is_multiple_of(WINDOW)
            && let Some((&s, prev)) = m.range(..fblk).next_back()
            && s + prev.len() == fblk
            && prev.disk + prev.len() == disk
            && let Some(mut prev) = m.remove(&s)
        {
            crc_mem -= prev.mem();
            prev.crcs.reserve_exact(crcs.len());
            prev.crcs.extend_from_slice(crcs);
            start = s;
            ext = prev;
        }
        let end = start + ext.len();
        if !end.is_multiple_of(WINDOW)
            && m.get(&end)
                .is_some_and(|next| next.disk == ext.disk + ext.len())
            && let Some(next) = m.remove(&end)
        {
            crc_mem -= next.mem();
            ext.crcs.reserve_exact(next.crcs.len());
            ext.crcs.extend_from_slice(&next.crcs);
        }
        crc_mem += ext.mem();
        m.insert(start, ext);
        self.crc_mem = crc_mem;
        self.settle();
    }

    /// Unmaps every block from file block `nblocks` on.
    pub fn truncate(&mut self, nblocks: u64, freed: Release<'_>) {
        let end = self.end();
        self.punch(nblocks, end, freed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn runs(m: &ExtentMap) -> Vec<(u64, u64, u64)> {
        m.iter().map(|(f, e)| (f, e.disk, e.len())).collect()
    }

    fn crc_mem(m: &ExtentMap) -> u64 {
        m.iter()
            .map(|(_, e)| heap(4 * e.crcs.capacity() as u64))
            .sum()
    }

    #[test]
    fn sequential_maps_merge() {
        let mut m = ExtentMap::default();
        let mut f = Vec::new();
        for i in 0..10 {
            m.map(i, 100 + i, &[i as u32], &mut |s, n| f.push((s, n)));
        }
        assert_eq!(runs(&m), vec![(0, 100, 10)]);
        assert_eq!(m.get(7), Some((107, 7)));
        assert_eq!(m.get(10), None);
        assert!(f.is_empty());
        assert_eq!(m.blocks(), 10);
        assert_eq!(m.mem(), crc_mem(&m));
    }

    #[test]
    fn overwrite_middle_splits_and_frees() {
        let mut m = ExtentMap::default();
        let mut f = Vec::new();
        m.map(0, 100, &[0; 10], &mut |s, n| f.push((s, n)));
        m.map(3, 500, &[9, 9], &mut |s, n| f.push((s, n)));
        assert_eq!(runs(&m), vec![(0, 100, 3), (3, 500, 2), (5, 105, 5)]);
        assert_eq!(f, vec![(103, 2)]);
        assert_eq!(m.blocks(), 10);
        assert_eq!(m.get(4), Some((501, 9)));
        assert!(m.mem() >= crc_mem(&m));
    }

    #[test]
    fn merge_with_right_neighbour() {
        let mut m = ExtentMap::default();
        m.map(5, 105, &[0; 3], &mut |_, _| {});
        m.map(0, 100, &[1; 5], &mut |_, _| {});
        assert_eq!(runs(&m), vec![(0, 100, 8)]);
    }

    #[test]
    fn extents_stop_at_window_boundaries_whatever_the_order() {
        let mut a = ExtentMap::default();
        a.map(0, 5000, &vec![7; 3000], &mut |_, _| {});
        assert_eq!(
            runs(&a),
            vec![(0, 5000, 1024), (1024, 6024, 1024), (2048, 7048, 952)]
        );
        // Built backwards in small pieces: the same extents.
        let mut b = ExtentMap::default();
        for i in (0..300).rev() {
            b.map(i * 10, 5000 + i * 10, &[7; 10], &mut |_, _| {});
        }
        assert_eq!(runs(&b), runs(&a));
        assert_eq!(b.mem(), a.mem());
        assert!(a.iter().all(|(_, e)| e.crcs.capacity() == e.crcs.len()));
    }

    #[test]
    fn holes_and_truncate() {
        let mut m = ExtentMap::default();
        let mut f = Vec::new();
        m.map(0, 10, &[0; 4], &mut |s, n| f.push((s, n)));
        m.map(100, 50, &[0; 4], &mut |s, n| f.push((s, n)));
        assert_eq!(m.get(50), None);
        assert_eq!(m.end(), 104);
        m.truncate(2, &mut |s, n| f.push((s, n)));
        assert_eq!(runs(&m), vec![(0, 10, 2)]);
        f.sort();
        assert_eq!(f, vec![(12, 2), (50, 4)]);
        assert_eq!(m.blocks(), 2);
        m.truncate(0, &mut |_, _| {});
        assert_eq!(m.extents(), 0);
        assert_eq!(m.blocks(), 0);
        assert_eq!(m.mem(), 0);
    }

    #[test]
    fn punch_spanning_many_extents() {
        let mut m = ExtentMap::default();
        let mut f = Vec::new();
        m.map(0, 10, &[0; 4], &mut |_, _| {});
        m.map(4, 20, &[0; 4], &mut |_, _| {});
        m.map(8, 30, &[0; 4], &mut |_, _| {});
        m.punch(2, 10, &mut |s, n| f.push((s, n)));
        assert_eq!(runs(&m), vec![(0, 10, 2), (10, 32, 2)]);
        f.sort();
        assert_eq!(f, vec![(12, 2), (20, 4), (30, 2)]);
        assert_eq!(m.blocks(), 4);
        assert!(m.mem() >= crc_mem(&m));
    }
}
