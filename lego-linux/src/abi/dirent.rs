//! `struct linux_dirent64` (`linux/dirent.h`) and packing entries for `getdents64`.
//!
//! Each record is the 19-byte header, the name, a NUL, and zero padding to a multiple of 8
//! bytes; `d_reclen` is the padded length, so the next record starts 8-byte aligned (the C
//! library's `readdir` casts record pointers to `struct dirent64 *`).

use core::fmt;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::errno::{EINVAL, Errno};

/// The fixed part of a record (`d_name` follows at byte 19).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct Dirent64Header {
    /// Inode number.
    pub d_ino: u64,
    /// Offset to pass to `lseek` to continue after this entry.
    pub d_off: i64,
    /// Length of the whole record.
    pub d_reclen: u16,
    /// Type (`DT_*`).
    pub d_type: u8,
}

/// Offset of `d_name` in a record.
pub const NAME_OFFSET: usize = 19;
/// Longest file name.
pub const NAME_MAX: usize = 255;

const _: () = assert!(size_of::<Dirent64Header>() == NAME_OFFSET);

/// Unknown type.
pub const DT_UNKNOWN: u8 = 0;
/// FIFO.
pub const DT_FIFO: u8 = 1;
/// Character device.
pub const DT_CHR: u8 = 2;
/// Directory.
pub const DT_DIR: u8 = 4;
/// Block device.
pub const DT_BLK: u8 = 6;
/// Regular file.
pub const DT_REG: u8 = 8;
/// Symbolic link.
pub const DT_LNK: u8 = 10;
/// Socket.
pub const DT_SOCK: u8 = 12;
/// Whiteout.
pub const DT_WHT: u8 = 14;

/// The record length for a name of `name_len` bytes: header, name, NUL, rounded up to 8.
pub const fn reclen(name_len: usize) -> usize {
    (NAME_OFFSET + name_len + 1 + 7) & !7
}

/// Why an entry was not packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirentError {
    /// The buffer has no room for the record (`getdents64` returns what it has, or `EINVAL` if
    /// that is nothing).
    BufferFull,
    /// The name is empty, longer than [`NAME_MAX`] or contains a NUL or `/`.
    BadName,
}

impl DirentError {
    /// The errno for `getdents64` when not even the first entry fits (`EINVAL`), or for a bad
    /// name from the file system (`EINVAL` too).
    pub fn errno(&self) -> Errno {
        EINVAL
    }
}

impl fmt::Display for DirentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirentError::BufferFull => f.write_str("directory entry does not fit in the buffer"),
            DirentError::BadName => f.write_str("invalid file name in directory entry"),
        }
    }
}

/// Packs `getdents64` records into a buffer.
#[derive(Debug)]
pub struct DirentWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> DirentWriter<'a> {
    /// Writes into `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> DirentWriter<'a> {
        DirentWriter { buf, len: 0 }
    }

    /// Bytes written so far (what `getdents64` returns).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one record; on error nothing is written.
    pub fn push(&mut self, ino: u64, off: i64, d_type: u8, name: &[u8]) -> Result<(), DirentError> {
        if name.is_empty() || name.len() > NAME_MAX || name.iter().any(|&b| b == 0 || b == b'/') {
            return Err(DirentError::BadName);
        }
        let rec = reclen(name.len());
        let Some(dst) = self
            .len
            .checked_add(rec)
            .and_then(|end| self.buf.get_mut(self.len..end))
        else {
            return Err(DirentError::BufferFull);
        };
        // `rec` <= reclen(255) = 280, so it fits in u16.
        let head = Dirent64Header {
            d_ino: ino,
            d_off: off,
            d_reclen: u16::try_from(rec).unwrap_or(u16::MAX),
            d_type,
        };
        dst.fill(0);
        dst[..NAME_OFFSET].copy_from_slice(head.as_bytes());
        dst[NAME_OFFSET..NAME_OFFSET + name.len()].copy_from_slice(name);
        self.len += rec;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads records back as the C library's `readdir` would.
    fn read_back(buf: &[u8]) -> Vec<(u64, i64, u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < buf.len() {
            assert_eq!(at % 8, 0, "records are 8-byte aligned");
            let (h, _) = Dirent64Header::read_from_prefix(&buf[at..]).unwrap();
            let reclen = usize::from(h.d_reclen);
            let rec = &buf[at..at + reclen];
            let name = &rec[NAME_OFFSET..];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
            assert!(rec[NAME_OFFSET + name.len()..].iter().all(|&b| b == 0));
            out.push((h.d_ino, h.d_off, h.d_type, name.to_vec()));
            at += reclen;
        }
        out
    }

    #[test]
    fn records_are_linux_s() {
        assert_eq!(reclen(1), 24);
        assert_eq!(reclen(4), 24);
        assert_eq!(reclen(5), 32);
        assert_eq!(reclen(255), 280);
        let mut buf = [0xaa; 64];
        let mut w = DirentWriter::new(&mut buf);
        assert!(w.is_empty());
        w.push(2, 1, DT_DIR, b".").unwrap();
        w.push(7, 2, DT_REG, b"hello").unwrap();
        assert_eq!(w.push(8, 3, DT_REG, b"x"), Err(DirentError::BufferFull));
        assert_eq!(w.push(8, 3, DT_REG, b"a/b"), Err(DirentError::BadName));
        assert_eq!(w.push(8, 3, DT_REG, b""), Err(DirentError::BadName));
        assert_eq!(w.len(), 56);
        assert_eq!(
            read_back(&buf[..56]),
            [
                (2, 1, DT_DIR, b".".to_vec()),
                (7, 2, DT_REG, b"hello".to_vec())
            ]
        );
        assert_eq!(buf[56], 0xaa, "nothing written past the records");
        assert_eq!(DirentError::BufferFull.errno(), EINVAL);
    }

    proptest! {
        #[test]
        fn packs_and_reads_back(
            entries in prop::collection::vec(
                (any::<u64>(), any::<i64>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..300)),
                0..20,
            ),
            size in 0usize..3000,
        ) {
            let mut buf = vec![0u8; size];
            let mut w = DirentWriter::new(&mut buf);
            let mut want = Vec::new();
            for (ino, off, t, name) in &entries {
                let valid = !name.is_empty() && name.len() <= NAME_MAX && !name.contains(&0) && !name.contains(&b'/');
                match w.push(*ino, *off, *t, name) {
                    Ok(()) => want.push((*ino, *off, *t, name.clone())),
                    Err(DirentError::BadName) => prop_assert!(!valid),
                    Err(DirentError::BufferFull) => prop_assert!(valid && w.len() + reclen(name.len()) > size),
                }
            }
            let len = w.len();
            prop_assert_eq!(read_back(&buf[..len]), want);
        }
    }
}
