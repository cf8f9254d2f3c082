//! Little-endian encoding helpers. Decoding never panics: running off the end of the input is
//! reported as impossible metadata, because every decoded buffer already passed a checksum.

use alloc::vec::Vec;

use crate::error::{BAD_META, Result};

pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Reads a little-endian `u32` at `at` of a fixed-size block (callers pass in-range offsets).
pub(crate) fn get_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

/// Reads a little-endian `u64` at `at` of a fixed-size block (callers pass in-range offsets).
pub(crate) fn get_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

/// Writes `v` at `at` of a fixed-size block.
pub(crate) fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes `v` at `at` of a fixed-size block.
pub(crate) fn set_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A bounds-checked cursor over an encoded byte stream.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(BAD_META)?;
        let s = self.buf.get(self.pos..end).ok_or(BAD_META)?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        let mut a = [0u8; 2];
        a.copy_from_slice(self.bytes(2)?);
        Ok(u16::from_le_bytes(a))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.bytes(4)?);
        Ok(u32::from_le_bytes(a))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.bytes(8)?);
        Ok(u64::from_le_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Corruption, FsError};

    #[test]
    fn round_trip_and_overrun() {
        let mut v = Vec::new();
        put_u8(&mut v, 7);
        put_u16(&mut v, 0x1234);
        put_u32(&mut v, 0xdead_beef);
        put_u64(&mut v, u64::MAX - 1);
        let mut r = Reader::new(&v);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u16().unwrap(), 0x1234);
        assert_eq!(r.u32().unwrap(), 0xdead_beef);
        assert_eq!(r.u64().unwrap(), u64::MAX - 1);
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(FsError::Corrupted(Corruption::Metadata)));
        assert_eq!(
            Reader::new(&[1, 2]).u32(),
            Err(FsError::Corrupted(Corruption::Metadata))
        );
        Reader::new(&[]).bytes(usize::MAX).unwrap_err();
    }

    #[test]
    fn block_accessors() {
        let mut b = [0u8; 16];
        set_u32(&mut b, 0, 5);
        set_u64(&mut b, 8, 9);
        assert_eq!(get_u32(&b, 0), 5);
        assert_eq!(get_u64(&b, 8), 9);
        assert_eq!(
            get_u64(&b, 12),
            0,
            "out-of-range reads are zero, not a panic"
        );
    }
}
