//! Helpers shared by the integration tests.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(dead_code, clippy::unwrap_used)]

use lego_bcache::testing::{Call, MemBackend};
use lego_bcache::{Cache, Config, FileKey, PAGE};

pub const A: FileKey<'static> = FileKey {
    vnode: 1,
    path: "/a",
};
pub const B: FileKey<'static> = FileKey {
    vnode: 1,
    path: "/b",
};
pub const C: FileKey<'static> = FileKey {
    vnode: 1,
    path: "/c",
};
/// Same path as `A`, other vNode.
pub const A2: FileKey<'static> = FileKey {
    vnode: 2,
    path: "/a",
};

/// A cache over a leaked arena of `pages` frames.
pub fn cache(pages: usize, config: Config) -> Cache {
    let arena: &'static mut [[u8; PAGE]] = Box::leak(vec![[0u8; PAGE]; pages].into_boxed_slice());
    Cache::new(arena, config)
}

/// The default configuration without readahead.
pub fn no_ra() -> Config {
    Config {
        readahead_pages: 0,
        ..Config::default()
    }
}

/// Recognizable non-zero bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + usize::from(seed) * 7) % 251) as u8 + 1)
        .collect()
}

/// A backend with `max_io_pages` pages per request and files `A`, `B`, `C`, `A2` holding
/// the given contents.
pub fn backend(max_io_pages: usize, files: &[(FileKey<'_>, &[u8])]) -> MemBackend {
    let mut b = MemBackend::new(max_io_pages * PAGE);
    for (f, data) in files {
        b.create(f.vnode, f.path, data);
    }
    b
}

/// Reads `len` bytes of `f` at `offset`, asserting success.
pub fn read(c: &mut Cache, b: &mut MemBackend, f: FileKey<'_>, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let n = c.read(b, f, offset, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// The whole file as the cache sees it.
pub fn read_all(c: &mut Cache, b: &mut MemBackend, f: FileKey<'_>) -> Vec<u8> {
    let size = c.size(b, f).unwrap();
    read(c, b, f, 0, size as usize)
}

/// The (offset, len) of the logged reads.
pub fn reads(b: &MemBackend) -> Vec<(u64, usize)> {
    b.log
        .iter()
        .filter_map(|c| match c {
            Call::Read(_, _, o, l) => Some((*o, *l)),
            _ => None,
        })
        .collect()
}

/// The (offset, len) of the logged writes.
pub fn writes(b: &MemBackend) -> Vec<(u64, usize)> {
    b.log
        .iter()
        .filter_map(|c| match c {
            Call::Write(_, _, o, l) => Some((*o, *l)),
            _ => None,
        })
        .collect()
}

pub const P: u64 = PAGE as u64;
