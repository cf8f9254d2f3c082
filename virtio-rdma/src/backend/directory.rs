//! The MR directory: a small memfd each VMM writes with the MRs its guest registered, which peer
//! VMMs map read-only to resolve lookups without a round trip to anyone. One writer (the owner
//! VMM); every entry is guarded by a sequence lock, so a reader never acts on a half-written or
//! recycled entry.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::shm::SharedMap;
use crate::abi::MAX_MRS;

/// Size of a directory.
pub const DIRECTORY_BYTES: u64 = 16 << 10;
const MAGIC: u64 = u64::from_le_bytes(*b"LEGODIR1");
const HEADER: usize = 64;
const ENTRY: usize = 32;

/// What a directory entry says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Key.
    pub rkey: u32,
    /// Owner-chosen name.
    pub tag: u32,
    /// Permission bits.
    pub perms: u32,
    /// Start (owner guest-physical).
    pub gpa: u64,
    /// Length.
    pub len: u64,
}

/// A directory mapping (the owner's, writable; or a peer's, read-only).
#[derive(Debug)]
pub struct Directory {
    map: SharedMap,
    writable: bool,
}

// Entry layout (32 bytes): seq u32 (odd while being written), valid u32 (bit 31 = valid, low bits
// = permissions), rkey u32, tag u32, gpa u64, len u64.
const SEQ: usize = 0;
const VALID: usize = 4;
const RKEY: usize = 8;
const TAG: usize = 12;
const GPA: usize = 16;
const LEN: usize = 24;

impl Directory {
    fn u32_at(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off + 4 <= self.map.len() && off.is_multiple_of(4));
        // SAFETY: `off` is 4-aligned and inside the mapping (entries are fixed offsets below
        // DIRECTORY_BYTES, checked at construction); AtomicU32 has u32's layout.
        unsafe { AtomicU32::from_ptr(self.map.as_ptr().add(off).cast()) }
    }

    fn u64_at(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off + 8 <= self.map.len() && off.is_multiple_of(8));
        // SAFETY: as in `u32_at`, 8-aligned.
        unsafe { AtomicU64::from_ptr(self.map.as_ptr().add(off).cast()) }
    }

    fn entry(i: u32) -> usize {
        HEADER + i as usize * ENTRY
    }

    /// Maps a directory from `fd`. The owner maps writable and initialises it.
    pub fn map(fd: &impl AsRawFd, writable: bool, component: u32) -> io::Result<Directory> {
        let map = SharedMap::map(fd, DIRECTORY_BYTES as usize, writable)?;
        let d = Directory { map, writable };
        if writable {
            d.u64_at(0).store(MAGIC, Ordering::Relaxed);
            d.u32_at(8).store(component, Ordering::Release);
        } else if d.u64_at(0).load(Ordering::Acquire) != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not an MR directory",
            ));
        }
        Ok(d)
    }

    /// Publishes slot `i` (owner only).
    pub fn publish(&self, i: u32, e: DirEntry) {
        if !self.writable || i >= MAX_MRS {
            return;
        }
        let base = Self::entry(i);
        let seq = self.u32_at(base + SEQ);
        let s = seq.load(Ordering::Relaxed);
        seq.store(s.wrapping_add(1) | 1, Ordering::Release);
        std::sync::atomic::fence(Ordering::Release);
        self.u32_at(base + RKEY).store(e.rkey, Ordering::Relaxed);
        self.u32_at(base + TAG).store(e.tag, Ordering::Relaxed);
        self.u64_at(base + GPA).store(e.gpa, Ordering::Relaxed);
        self.u64_at(base + LEN).store(e.len, Ordering::Relaxed);
        self.u32_at(base + VALID)
            .store((1 << 31) | e.perms, Ordering::Relaxed);
        seq.store((s | 1).wrapping_add(1), Ordering::Release);
    }

    /// Withdraws slot `i` (owner only).
    pub fn revoke(&self, i: u32) {
        if !self.writable || i >= MAX_MRS {
            return;
        }
        let base = Self::entry(i);
        let seq = self.u32_at(base + SEQ);
        let s = seq.load(Ordering::Relaxed);
        seq.store(s.wrapping_add(1) | 1, Ordering::Release);
        std::sync::atomic::fence(Ordering::Release);
        self.u32_at(base + VALID).store(0, Ordering::Relaxed);
        seq.store((s | 1).wrapping_add(1), Ordering::Release);
    }

    /// Reads slot `i` consistently; `None` if it is empty.
    pub fn read(&self, i: u32) -> Option<DirEntry> {
        if i >= MAX_MRS {
            return None;
        }
        let base = Self::entry(i);
        for _ in 0..1000 {
            let s1 = self.u32_at(base + SEQ).load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let valid = self.u32_at(base + VALID).load(Ordering::Relaxed);
            let e = DirEntry {
                rkey: self.u32_at(base + RKEY).load(Ordering::Relaxed),
                tag: self.u32_at(base + TAG).load(Ordering::Relaxed),
                perms: valid & !(1 << 31),
                gpa: self.u64_at(base + GPA).load(Ordering::Relaxed),
                len: self.u64_at(base + LEN).load(Ordering::Relaxed),
            };
            std::sync::atomic::fence(Ordering::Acquire);
            if self.u32_at(base + SEQ).load(Ordering::Relaxed) == s1 {
                return (valid & (1 << 31) != 0).then_some(e);
            }
        }
        None
    }

    /// Finds the valid entry with `tag`.
    pub fn find_tag(&self, tag: u32) -> Option<DirEntry> {
        (0..MAX_MRS)
            .filter_map(|i| self.read(i))
            .find(|e| e.tag == tag)
    }

    /// Finds the valid entry with `rkey`.
    pub fn find_rkey(&self, rkey: u32) -> Option<DirEntry> {
        (0..MAX_MRS)
            .filter_map(|i| self.read(i))
            .find(|e| e.rkey == rkey)
    }

    /// The component id the owner wrote.
    pub fn component(&self) -> u32 {
        self.u32_at(8).load(Ordering::Acquire)
    }
}

const _: () = assert!(HEADER + MAX_MRS as usize * ENTRY <= DIRECTORY_BYTES as usize);

#[cfg(test)]
mod tests {
    use super::super::shm::memfd;
    use super::*;

    #[test]
    fn owner_publishes_peer_reads() {
        let f = memfd("dir", DIRECTORY_BYTES).unwrap();
        let owner = Directory::map(&f, true, 4).unwrap();
        let peer = Directory::map(&f, false, 0).unwrap();
        assert_eq!(peer.component(), 4);
        let e = DirEntry {
            rkey: 0xabc,
            tag: 77,
            perms: 3,
            gpa: 0x20_0000,
            len: 0x4000,
        };
        owner.publish(5, e);
        assert_eq!(peer.find_tag(77), Some(e));
        assert_eq!(peer.find_rkey(0xabc), Some(e));
        owner.revoke(5);
        assert_eq!(peer.find_tag(77), None);
        assert_eq!(peer.read(MAX_MRS), None);
    }

    #[test]
    fn readers_are_refused_on_garbage() {
        let f = memfd("dir", DIRECTORY_BYTES).unwrap();
        Directory::map(&f, false, 0).unwrap_err();
    }

    #[test]
    fn concurrent_reader_never_sees_a_torn_entry() {
        let f = memfd("dir", DIRECTORY_BYTES).unwrap();
        let owner = Directory::map(&f, true, 1).unwrap();
        let peer = Directory::map(&f, false, 0).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                for n in 1..20_000u64 {
                    owner.publish(
                        0,
                        DirEntry {
                            rkey: n as u32,
                            tag: 1,
                            perms: 1,
                            gpa: n * 4096,
                            len: n * 8192,
                        },
                    );
                }
            });
            for _ in 0..20_000 {
                if let Some(e) = peer.read(0) {
                    assert_eq!(e.gpa, u64::from(e.rkey) * 4096);
                    assert_eq!(e.len, u64::from(e.rkey) * 8192);
                }
            }
        });
    }
}
