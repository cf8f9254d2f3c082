//! Decoding a record stream that arrives in pieces (checkpoint payload blocks, journal blocks),
//! holding at most one record at a time: a mount's working memory does not grow with the
//! metadata. A `Map` record longer than a window's checksums (old images wrote one record per
//! extent, of any length) is handed on in pieces of at most [`WINDOW`] blocks, which map to
//! the same extents.

use alloc::vec::Vec;

use crate::codec::Reader;
use crate::error::{BAD_META, Result};
use crate::extent::WINDOW;
use crate::record::{Frame, MAP_FIXED, Record, frame};

/// The rest of a long `Map` record.
#[derive(Debug, Clone, Copy)]
struct MapTail {
    ino: u64,
    fblk: u64,
    disk: u64,
    left: u64,
}

/// A record decoder fed bytes in pieces.
#[derive(Debug, Default)]
pub(crate) struct RecordStream {
    carry: Vec<u8>,
    tail: Option<MapTail>,
}

impl RecordStream {
    /// Decodes the records `bytes` completes, handing each to `f`.
    pub fn feed(&mut self, bytes: &[u8], f: &mut dyn FnMut(&Record) -> Result<()>) -> Result<()> {
        self.carry.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let rest = &self.carry[at..];
            if let Some(t) = &mut self.tail {
                let n = t.left.min(WINDOW).min(rest.len() as u64 / 4);
                if n == 0 {
                    break;
                }
                let crcs = rest[..4 * n as usize]
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                let rec = Record::Map {
                    ino: t.ino,
                    fblk: t.fblk,
                    disk: t.disk,
                    crcs,
                };
                // A damaged record's block numbers may overflow: `apply` refuses what is left.
                t.fblk = t.fblk.saturating_add(n);
                t.disk = t.disk.saturating_add(n);
                t.left -= n;
                if t.left == 0 {
                    self.tail = None;
                }
                at += 4 * n as usize;
                f(&rec)?;
                continue;
            }
            match frame(rest)? {
                Frame::Need => break,
                Frame::Map {
                    ino,
                    fblk,
                    disk,
                    count,
                } if u64::from(count) > WINDOW => {
                    self.tail = Some(MapTail {
                        ino,
                        fblk,
                        disk,
                        left: u64::from(count),
                    });
                    at += MAP_FIXED as usize;
                }
                Frame::Map { count, .. } => {
                    let n = MAP_FIXED as usize + 4 * count as usize;
                    if rest.len() < n {
                        break;
                    }
                    at += n;
                    f(&Record::decode(&mut Reader::new(&rest[..n]))?)?;
                }
                Frame::Whole(n) => {
                    if rest.len() < n {
                        break;
                    }
                    at += n;
                    f(&Record::decode(&mut Reader::new(&rest[..n]))?)?;
                }
            }
        }
        self.carry.drain(..at);
        Ok(())
    }

    /// The stream ended: a record cut short is impossible metadata.
    pub fn finish(&mut self) -> Result<()> {
        let whole = self.carry.is_empty() && self.tail.is_none();
        self.carry.clear();
        self.tail = None;
        if whole { Ok(()) } else { Err(BAD_META) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_anywhere_decode_whole_and_long_maps_in_windows() {
        let recs = [
            Record::Create {
                ino: 1,
                vnode: 2,
                path: "/a-path".into(),
                kind: crate::FileKind::File,
                mode: 0o644,
                version: 3,
            },
            Record::Map {
                ino: 1,
                fblk: 10,
                disk: 500,
                crcs: (0..2500).collect(),
            },
            Record::Remove { ino: 1 },
        ];
        let mut bytes = Vec::new();
        for r in &recs {
            r.encode(&mut bytes);
        }
        for piece in [1, 7, 100, 4096, bytes.len()] {
            let mut s = RecordStream::default();
            let mut got = Vec::new();
            for chunk in bytes.chunks(piece) {
                s.feed(chunk, &mut |r| {
                    got.push(r.clone());
                    Ok(())
                })
                .unwrap();
                assert!(s.carry.len() <= 2 * 4096 + 64, "carry stays small");
            }
            s.finish().unwrap();
            assert_eq!(got[0], recs[0]);
            assert_eq!(got.last(), Some(&recs[2]));
            // The map arrives in pieces covering exactly its blocks, in order.
            let mut next = (10, 500, 0u32);
            for r in &got[1..got.len() - 1] {
                let Record::Map {
                    fblk, disk, crcs, ..
                } = r
                else {
                    panic!("{r:?}")
                };
                assert_eq!((*fblk, *disk, crcs[0]), next);
                assert!(crcs.len() as u64 <= WINDOW);
                next = (
                    fblk + crcs.len() as u64,
                    disk + crcs.len() as u64,
                    next.2 + crcs.len() as u32,
                );
            }
            assert_eq!(next.2, 2500);
        }
        // Cut short: refused.
        let mut s = RecordStream::default();
        s.feed(&bytes[..bytes.len() - 1], &mut |_| Ok(())).unwrap();
        assert_eq!(s.finish(), Err(BAD_META));
        let mut s = RecordStream::default();
        assert_eq!(s.feed(&[42, 0, 0], &mut |_| Ok(())), Err(BAD_META));
    }
}
