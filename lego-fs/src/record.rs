//! Metadata records: the unit of both the journal and the checkpoint.
//!
//! A checkpoint is simply the records that rebuild the whole metadata from nothing (one
//! `Create`, its `Map`s and a `SetSize` per inode), and a journal transaction is the records of
//! the operations since the previous commit, so mounting is "apply checkpoint records, then apply
//! each committed transaction's records" through the same [`Meta::apply`](crate::meta::Meta::apply)
//! that live operations use. Encoding (little-endian):
//!
//! ```text
//! 1 Create  ino u64, vnode u32, path_len u16, path, kind u8 (1 file, 2 dir), mode u32, version u64
//! 2 Remove  ino u64
//! 3 Rename  ino u64, path_len u16, path
//! 4 SetSize ino u64, size u64, version u64
//! 5 Map     ino u64, file_block u64, disk_block u64, count u32, count × crc32 u32
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::{Reader, put_u8, put_u16, put_u32, put_u64};
use crate::error::{BAD_META, Result};
use crate::inode::FileKind;

const CREATE: u8 = 1;
const REMOVE: u8 = 2;
const RENAME: u8 = 3;
const SET_SIZE: u8 = 4;
const MAP: u8 = 5;

/// Encoded size of a `Create` record without its path.
pub(crate) const CREATE_FIXED: u64 = 28;
/// Encoded size of a `Map` record without its checksums.
pub(crate) const MAP_FIXED: u64 = 29;
/// Encoded size of a `SetSize` record.
pub(crate) const SET_SIZE_LEN: u64 = 25;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    Create {
        ino: u64,
        vnode: u32,
        path: String,
        kind: FileKind,
        mode: u32,
        version: u64,
    },
    Remove {
        ino: u64,
    },
    Rename {
        ino: u64,
        path: String,
    },
    SetSize {
        ino: u64,
        size: u64,
        version: u64,
    },
    Map {
        ino: u64,
        fblk: u64,
        disk: u64,
        crcs: Vec<u32>,
    },
}

fn put_path(out: &mut Vec<u8>, path: &str) {
    // Paths are validated to at most MAX_PATH (4096) bytes before they get here.
    put_u16(out, path.len() as u16);
    out.extend_from_slice(path.as_bytes());
}

pub(crate) fn encode_create(
    out: &mut Vec<u8>,
    ino: u64,
    vnode: u32,
    path: &str,
    kind: FileKind,
    mode: u32,
    version: u64,
) {
    put_u8(out, CREATE);
    put_u64(out, ino);
    put_u32(out, vnode);
    put_path(out, path);
    put_u8(
        out,
        match kind {
            FileKind::File => 1,
            FileKind::Dir => 2,
        },
    );
    put_u32(out, mode);
    put_u64(out, version);
}

pub(crate) fn encode_set_size(out: &mut Vec<u8>, ino: u64, size: u64, version: u64) {
    put_u8(out, SET_SIZE);
    put_u64(out, ino);
    put_u64(out, size);
    put_u64(out, version);
}

pub(crate) fn encode_map(out: &mut Vec<u8>, ino: u64, fblk: u64, disk: u64, crcs: &[u32]) {
    put_u8(out, MAP);
    put_u64(out, ino);
    put_u64(out, fblk);
    put_u64(out, disk);
    put_u32(out, crcs.len() as u32);
    for c in crcs {
        put_u32(out, *c);
    }
}

impl Record {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Create {
                ino,
                vnode,
                path,
                kind,
                mode,
                version,
            } => encode_create(out, *ino, *vnode, path, *kind, *mode, *version),
            Record::Remove { ino } => {
                put_u8(out, REMOVE);
                put_u64(out, *ino);
            }
            Record::Rename { ino, path } => {
                put_u8(out, RENAME);
                put_u64(out, *ino);
                put_path(out, path);
            }
            Record::SetSize { ino, size, version } => encode_set_size(out, *ino, *size, *version),
            Record::Map {
                ino,
                fblk,
                disk,
                crcs,
            } => encode_map(out, *ino, *fblk, *disk, crcs),
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Record> {
        Ok(match r.u8()? {
            CREATE => {
                let ino = r.u64()?;
                let vnode = r.u32()?;
                let path = read_path(r)?;
                let kind = match r.u8()? {
                    1 => FileKind::File,
                    2 => FileKind::Dir,
                    _ => return Err(BAD_META),
                };
                Record::Create {
                    ino,
                    vnode,
                    path,
                    kind,
                    mode: r.u32()?,
                    version: r.u64()?,
                }
            }
            REMOVE => Record::Remove { ino: r.u64()? },
            RENAME => Record::Rename {
                ino: r.u64()?,
                path: read_path(r)?,
            },
            SET_SIZE => Record::SetSize {
                ino: r.u64()?,
                size: r.u64()?,
                version: r.u64()?,
            },
            MAP => {
                let ino = r.u64()?;
                let fblk = r.u64()?;
                let disk = r.u64()?;
                let n = r.u32()? as usize;
                // Take the bytes first so a damaged count cannot trigger a huge allocation.
                let raw = r.bytes(n.checked_mul(4).ok_or(BAD_META)?)?;
                let crcs = raw
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                Record::Map {
                    ino,
                    fblk,
                    disk,
                    crcs,
                }
            }
            _ => return Err(BAD_META),
        })
    }
}

fn read_path(r: &mut Reader<'_>) -> Result<String> {
    let n = r.u16()? as usize;
    let s = core::str::from_utf8(r.bytes(n)?).map_err(|_| BAD_META)?;
    Ok(String::from(s))
}

/// How much of a record stream the record at its start takes (see `stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// Not enough bytes to tell.
    Need,
    /// The whole record is this many bytes.
    Whole(usize),
    /// A `Map` record of `count` checksums: its header is [`MAP_FIXED`] bytes.
    Map {
        ino: u64,
        fblk: u64,
        disk: u64,
        count: u32,
    },
}

/// Frames the record at the start of `b`.
pub(crate) fn frame(b: &[u8]) -> Result<Frame> {
    let u16_at = |at: usize| {
        b.get(at..at + 2)
            .map(|x| usize::from(u16::from_le_bytes([x[0], x[1]])))
    };
    let Some(&kind) = b.first() else {
        return Ok(Frame::Need);
    };
    Ok(match kind {
        CREATE => u16_at(13).map_or(Frame::Need, |n| Frame::Whole(CREATE_FIXED as usize + n)),
        REMOVE => Frame::Whole(9),
        RENAME => u16_at(9).map_or(Frame::Need, |n| Frame::Whole(11 + n)),
        SET_SIZE => Frame::Whole(SET_SIZE_LEN as usize),
        MAP if b.len() < MAP_FIXED as usize => Frame::Need,
        MAP => {
            let mut r = Reader::new(&b[1..]);
            Frame::Map {
                ino: r.u64()?,
                fblk: r.u64()?,
                disk: r.u64()?,
                count: r.u32()?,
            }
        }
        _ => return Err(BAD_META),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn samples() -> Vec<Record> {
        vec![
            Record::Create {
                ino: 3,
                vnode: 7,
                path: "/a/b".into(),
                kind: FileKind::Dir,
                mode: 0o755,
                version: 9,
            },
            Record::Create {
                ino: 4,
                vnode: 0,
                path: "/f".into(),
                kind: FileKind::File,
                mode: 0o644,
                version: 10,
            },
            Record::Remove { ino: 3 },
            Record::Rename {
                ino: 4,
                path: "/g".into(),
            },
            Record::SetSize {
                ino: 4,
                size: 12345,
                version: 11,
            },
            Record::Map {
                ino: 4,
                fblk: 2,
                disk: 900,
                crcs: vec![1, 2, 3],
            },
        ]
    }

    #[test]
    fn round_trip_and_sizes() {
        for rec in samples() {
            let mut v = Vec::new();
            rec.encode(&mut v);
            let expect = match &rec {
                Record::Create { path, .. } => CREATE_FIXED + path.len() as u64,
                Record::Map { crcs, .. } => MAP_FIXED + 4 * crcs.len() as u64,
                Record::SetSize { .. } => SET_SIZE_LEN,
                _ => v.len() as u64,
            };
            assert_eq!(v.len() as u64, expect, "{rec:?}");
            let mut r = Reader::new(&v);
            assert_eq!(Record::decode(&mut r).unwrap(), rec);
            assert!(r.is_empty());
            // Framing tells the length from a prefix, or asks for more.
            match frame(&v).unwrap() {
                Frame::Whole(n) => assert_eq!(n, v.len(), "{rec:?}"),
                Frame::Map { count, .. } => {
                    assert_eq!(MAP_FIXED as usize + 4 * count as usize, v.len());
                }
                Frame::Need => panic!("a whole record needs more"),
            }
            assert_eq!(
                frame(&v[..1]).unwrap() == Frame::Need,
                v[0] == 1 || v[0] == 3 || v[0] == 5
            );
        }
        assert_eq!(frame(&[]), Ok(Frame::Need));
        assert_eq!(frame(&[9]), Err(BAD_META));
    }

    #[test]
    fn truncated_or_unknown_records_are_errors() {
        for rec in samples() {
            let mut v = Vec::new();
            rec.encode(&mut v);
            for cut in 0..v.len() {
                assert_eq!(Record::decode(&mut Reader::new(&v[..cut])), Err(BAD_META));
            }
        }
        assert_eq!(Record::decode(&mut Reader::new(&[99])), Err(BAD_META));
        // A huge checksum count with no bytes behind it fails without allocating.
        let mut v = vec![MAP];
        v.extend_from_slice(&[0; 24]);
        v.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Record::decode(&mut Reader::new(&v)), Err(BAD_META));
    }
}
