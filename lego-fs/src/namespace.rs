//! One vNode's namespace: a hash table from full path to inode number (the LegoOS storage
//! component's flat namespace: a lookup hashes the whole path, it never walks directories), plus
//! an in-memory child index per directory so `readdir` and the `rmdir` emptiness check do not
//! scan the table. The child index is derived data, rebuilt while mounting.

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::hash::{BuildHasherDefault, Hasher};

use crate::path;

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

#[derive(Debug, Default)]
pub(crate) struct Namespace {
    names: HashMap<Box<str>, u64>,
    children: HashMap<Box<str>, BTreeSet<Box<str>>>,
}

impl Namespace {
    pub fn get(&self, path: &str) -> Option<u64> {
        self.names.get(path).copied()
    }

    pub fn contains(&self, path: &str) -> bool {
        self.names.contains_key(path)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Adds `path` (validated, not the root, not present) and indexes it under its parent.
    pub fn insert(&mut self, path: &str, ino: u64) {
        let (parent, name) = path::split(path);
        self.names.insert(path.into(), ino);
        self.children
            .entry(parent.into())
            .or_default()
            .insert(name.into());
    }

    pub fn remove(&mut self, path: &str) -> Option<u64> {
        let ino = self.names.remove(path)?;
        let (parent, name) = path::split(path);
        if let Some(set) = self.children.get_mut(parent) {
            set.remove(name);
            if set.is_empty() {
                self.children.remove(parent);
            }
        }
        Some(ino)
    }

    /// Names directly inside directory `dir`, in byte order.
    pub fn children(&self, dir: &str) -> impl Iterator<Item = &str> {
        self.children
            .get(dir)
            .into_iter()
            .flat_map(|s| s.iter().map(|n| &**n))
    }

    pub fn has_children(&self, dir: &str) -> bool {
        self.children.get(dir).is_some_and(|s| !s.is_empty())
    }

    /// Everything below directory `dir` (full paths and inode numbers), each directory before
    /// its entries.
    pub fn descendants(&self, dir: &str) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut todo = vec![String::from(dir)];
        while let Some(d) = todo.pop() {
            for name in self.children(&d) {
                let mut p = String::with_capacity(d.len() + 1 + name.len());
                if !path::is_root(&d) {
                    p.push_str(&d);
                }
                p.push('/');
                p.push_str(name);
                if let Some(ino) = self.get(&p) {
                    out.push((p.clone(), ino));
                }
                if self.has_children(&p) {
                    todo.push(p);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use core::hash::BuildHasher;

    #[test]
    fn insert_lookup_remove_and_children() {
        let mut ns = Namespace::default();
        ns.insert("/a", 1);
        ns.insert("/a/x", 2);
        ns.insert("/a/b", 3);
        ns.insert("/c", 4);
        assert_eq!(ns.get("/a/x"), Some(2));
        assert_eq!(ns.get("/a/y"), None);
        assert_eq!(ns.children("/a").collect::<Vec<_>>(), ["b", "x"]);
        assert_eq!(ns.children("/").collect::<Vec<_>>(), ["a", "c"]);
        assert!(ns.has_children("/a"));
        assert!(!ns.has_children("/c"));
        assert_eq!(ns.remove("/a/x"), Some(2));
        assert_eq!(ns.remove("/a/b"), Some(3));
        assert_eq!(ns.remove("/a/b"), None);
        assert!(!ns.has_children("/a"));
        assert_eq!(ns.children("/a").count(), 0);
        assert!(ns.contains("/a"));
        ns.remove("/a");
        ns.remove("/c");
        assert!(ns.is_empty());
    }

    #[test]
    fn descendants_list_a_subtree_parents_first() {
        let mut ns = Namespace::default();
        for (p, i) in [
            ("/a", 1),
            ("/a/b", 2),
            ("/a/b/c", 3),
            ("/a/x", 4),
            ("/ab", 5),
        ] {
            ns.insert(p, i);
        }
        let d = ns.descendants("/a");
        let mut paths: Vec<&str> = d.iter().map(|(p, _)| p.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["/a/b", "/a/b/c", "/a/x"]);
        let at = |p: &str| d.iter().position(|(q, _)| q == p).unwrap();
        assert!(at("/a/b") < at("/a/b/c"));
        assert_eq!(ns.descendants("/").len(), 5);
        assert!(ns.descendants("/ab").is_empty());
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
