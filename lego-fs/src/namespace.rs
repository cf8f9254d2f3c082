//! The namespace's building blocks: the hash of a full path (the LegoOS storage component's
//! flat namespace: a lookup hashes the whole path, it never walks directories; see `meta` for
//! the table) and the child index of a directory, so `readdir` and the `rmdir` emptiness check
//! do not scan the table. The child index is derived data, rebuilt while mounting.

use alloc::vec::Vec;
use core::hash::{BuildHasherDefault, Hasher};

use crate::mem::{grown_capacity, heap};

/// A small, fast, deterministic hasher for paths (FxHash's mixing with a final avalanche). The
/// guest has no entropy source for a randomized hasher, and paths come from trusted pComponents.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PathHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl PathHasher {
    fn mix(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            self.mix(u64::from_le_bytes(a));
        }
        let mut a = [0u8; 8];
        let rest = chunks.remainder();
        a[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(a) ^ ((rest.len() as u64) << 59));
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    fn finish(&self) -> u64 {
        // murmur3's fmix64: hashbrown takes its control bits from the top of the hash.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A hash map using [`PathHasher`].
pub(crate) type HashMap<K, V> = hashbrown::HashMap<K, V, BuildHasherDefault<PathHasher>>;

/// The hash of `path` in `vnode`'s namespace: the key of the name table.
pub(crate) fn path_hash(vnode: u32, path: &str) -> u64 {
    let mut h = PathHasher::default();
    h.write_u32(vnode);
    h.write(path.as_bytes());
    h.finish()
}

/// A directory's entries: the inode numbers of its children, sorted by name (the caller
/// supplies the names: they live in the inodes). Grows by half its size when full, exactly, so
/// the memory model knows its capacity.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Children(Vec<u64>);

impl Children {
    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Heap bytes held.
    pub fn mem(&self) -> u64 {
        heap(8 * self.0.capacity() as u64)
    }

    /// Heap bytes the next insertion allocates (0 if there is room): the old vector is freed
    /// after the new one is filled.
    pub fn growth(&self) -> u64 {
        let (len, cap) = (self.0.len() as u64, self.0.capacity() as u64);
        if len < cap {
            0
        } else {
            heap(8 * grown_capacity(len))
        }
    }

    /// Where the child named `name` is (`Ok`) or would go (`Err`).
    pub fn position<'a>(
        &self,
        name: &str,
        name_of: impl Fn(u64) -> &'a str,
    ) -> Result<usize, usize> {
        self.0.binary_search_by(|&i| name_of(i).cmp(name))
    }

    /// Inserts `ino` at `at` (from [`Self::position`]).
    pub fn insert(&mut self, at: usize, ino: u64) {
        if self.0.len() == self.0.capacity() {
            let len = self.0.len() as u64;
            self.0.reserve_exact((grown_capacity(len) - len) as usize);
        }
        self.0.insert(at, ino);
    }

    pub fn remove(&mut self, at: usize) -> u64 {
        self.0.remove(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use core::hash::BuildHasher;

    #[test]
    fn children_stay_sorted_and_grow_by_half() {
        let names = ["m", "b", "z", "a", "q", "c"];
        let name_of = |i: u64| names[i as usize];
        let mut c = Children::default();
        assert_eq!(c.growth(), heap(32));
        for (i, n) in names.iter().enumerate() {
            let at = c.position(n, name_of).expect_err("not there yet");
            c.insert(at, i as u64);
        }
        let sorted: Vec<&str> = c.as_slice().iter().map(|&i| name_of(i)).collect();
        assert_eq!(sorted, ["a", "b", "c", "m", "q", "z"]);
        assert_eq!(c.0.capacity(), 8, "4, then 4 more");
        assert_eq!(c.position("q", name_of), Ok(4));
        assert_eq!(c.remove(4), 4);
        assert_eq!(c.mem(), heap(64));
    }

    #[test]
    fn hasher_spreads_similar_paths() {
        let b = BuildHasherDefault::<PathHasher>::default();
        let mut tops = [0u32; 128];
        for i in 0..4096 {
            let p = alloc::format!("/dir/file{i}");
            tops[(b.hash_one(p.as_str()) >> 57) as usize] += 1;
        }
        // 4096 keys over 128 buckets of the top 7 bits: each should be near 32.
        assert!(tops.iter().all(|&c| (8..=64).contains(&c)), "{tops:?}");
    }
}
