//! A file's block map: extents of contiguous disk blocks, each carrying one CRC-32 per block so
//! that a flipped data byte is reported instead of returned.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// A run of contiguous disk blocks backing contiguous file blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extent {
    /// First disk block.
    pub disk: u64,
    /// Checksum of each block; the extent is `crcs.len()` blocks long.
    pub crcs: Vec<u32>,
}

impl Extent {
    pub fn len(&self) -> u64 {
        self.crcs.len() as u64
    }
}

/// Disk blocks no longer referenced: `(first block, count)`.
pub(crate) type Freed = Vec<(u64, u64)>;

/// File block number → extent starting there. Unmapped file blocks are holes (read as zero).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ExtentMap {
    map: BTreeMap<u64, Extent>,
    blocks: u64,
}

impl ExtentMap {
    /// Number of extents.
    pub fn extents(&self) -> u64 {
        self.map.len() as u64
    }

    /// Number of mapped blocks.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &Extent)> {
        self.map.iter().map(|(f, e)| (*f, e))
    }

    /// The disk block and checksum backing file block `fblk`, if mapped.
    pub fn get(&self, fblk: u64) -> Option<(u64, u32)> {
        let (start, e) = self.map.range(..=fblk).next_back()?;
        let off = fblk - start;
        let crc = *e.crcs.get(off as usize)?;
        Some((e.disk + off, crc))
    }

    /// One past the last mapped file block (0 if empty).
    pub fn end(&self) -> u64 {
        self.map.iter().next_back().map_or(0, |(s, e)| s + e.len())
    }

    /// Unmaps file blocks `from..to`, reporting the disk blocks released.
    pub fn punch(&mut self, from: u64, to: u64, freed: &mut Freed) {
        if from >= to {
            return;
        }
        // An extent starting before `from` may reach into the range: keep its head.
        if let Some((&s, e)) = self.map.range_mut(..from).next_back()
            && s + e.len() > from
        {
            let keep = (from - s) as usize;
            let tail_crcs = e.crcs.split_off(keep);
            let tail = Extent {
                disk: e.disk + keep as u64,
                crcs: tail_crcs,
            };
            self.map.insert(from, tail);
        }
        let starts: Vec<u64> = self.map.range(from..to).map(|(s, _)| *s).collect();
        for s in starts {
            let Some(mut e) = self.map.remove(&s) else {
                continue;
            };
            let end = s + e.len();
            if end > to {
                // Keep the part past `to`.
                let cut = (to - s) as usize;
                let rest = Extent {
                    disk: e.disk + cut as u64,
                    crcs: e.crcs.split_off(cut),
                };
                self.map.insert(to, rest);
            }
            freed.push((e.disk, e.len()));
            self.blocks -= e.len();
        }
    }

    /// Maps file blocks `fblk..fblk + crcs.len()` to disk blocks `disk..`, replacing (and
    /// reporting) whatever was mapped there, and merging with contiguous neighbours.
    pub fn map(&mut self, fblk: u64, disk: u64, crcs: &[u32], freed: &mut Freed) {
        let n = crcs.len() as u64;
        if n == 0 {
            return;
        }
        self.punch(fblk, fblk + n, freed);
        self.blocks += n;
        let mut start = fblk;
        let mut ext = Extent {
            disk,
            crcs: crcs.to_vec(),
        };
        if let Some((&s, prev)) = self.map.range_mut(..fblk).next_back()
            && s + prev.len() == fblk
            && prev.disk + prev.len() == disk
        {
            prev.crcs.extend_from_slice(crcs);
            start = s;
            if let Some(e) = self.map.remove(&s) {
                ext = e;
            }
        }
        let end = start + ext.len();
        if let Some(next) = self.map.get(&end)
            && next.disk == ext.disk + ext.len()
            && let Some(next) = self.map.remove(&end)
        {
            ext.crcs.extend_from_slice(&next.crcs);
        }
        self.map.insert(start, ext);
    }

    /// Unmaps every block from file block `nblocks` on.
    pub fn truncate(&mut self, nblocks: u64, freed: &mut Freed) {
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

    #[test]
    fn sequential_maps_merge() {
        let mut m = ExtentMap::default();
        let mut f = Freed::new();
        for i in 0..10 {
            m.map(i, 100 + i, &[i as u32], &mut f);
        }
        assert_eq!(runs(&m), vec![(0, 100, 10)]);
        assert_eq!(m.get(7), Some((107, 7)));
        assert_eq!(m.get(10), None);
        assert!(f.is_empty());
        assert_eq!(m.blocks(), 10);
    }

    #[test]
    fn overwrite_middle_splits_and_frees() {
        let mut m = ExtentMap::default();
        let mut f = Freed::new();
        m.map(0, 100, &[0; 10], &mut f);
        m.map(3, 500, &[9, 9], &mut f);
        assert_eq!(runs(&m), vec![(0, 100, 3), (3, 500, 2), (5, 105, 5)]);
        assert_eq!(f, vec![(103, 2)]);
        assert_eq!(m.blocks(), 10);
        assert_eq!(m.get(4), Some((501, 9)));
    }

    #[test]
    fn merge_with_right_neighbour() {
        let mut m = ExtentMap::default();
        let mut f = Freed::new();
        m.map(5, 105, &[0; 3], &mut f);
        m.map(0, 100, &[1; 5], &mut f);
        assert_eq!(runs(&m), vec![(0, 100, 8)]);
    }

    #[test]
    fn holes_and_truncate() {
        let mut m = ExtentMap::default();
        let mut f = Freed::new();
        m.map(0, 10, &[0; 4], &mut f);
        m.map(100, 50, &[0; 4], &mut f);
        assert_eq!(m.get(50), None);
        assert_eq!(m.end(), 104);
        m.truncate(2, &mut f);
        assert_eq!(runs(&m), vec![(0, 10, 2)]);
        f.sort();
        assert_eq!(f, vec![(12, 2), (50, 4)]);
        assert_eq!(m.blocks(), 2);
        m.truncate(0, &mut f);
        assert_eq!(m.extents(), 0);
        assert_eq!(m.blocks(), 0);
    }

    #[test]
    fn punch_spanning_many_extents() {
        let mut m = ExtentMap::default();
        let mut f = Freed::new();
        m.map(0, 10, &[0; 4], &mut f);
        m.map(4, 20, &[0; 4], &mut f);
        m.map(8, 30, &[0; 4], &mut f);
        m.punch(2, 10, &mut f);
        assert_eq!(runs(&m), vec![(0, 10, 2), (10, 32, 2)]);
        f.sort();
        assert_eq!(f, vec![(12, 2), (20, 4), (30, 2)]);
        assert_eq!(m.blocks(), 4);
    }
}
