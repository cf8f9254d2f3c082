//! The file protocol: stateless requests for the storage monitor (sComponent) and the buffer
//! cache in front of it (mComponent), as in LegoOS §4.5: every request carries everything it
//! needs (vNode, full path, offset, length, flags), so the storage side keeps no per-client
//! state and a restarted sComponent serves the next request as if nothing happened.
//!
//! A request is a [`FsRequest`] header, then the path, then the second path (rename), then
//! the data (write). Replies: data (read), a [`FsStat`] (stat, open), a [`DirHeader`] and
//! packed entries (readdir), a [`FsStatFs`] (statfs), a `u32` count (write), or nothing.
//! Failures are reply statuses `ERRNO_BASE + errno` (see [`errno`]), so the process monitor can
//! hand Linux programs the errno unchanged.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// First opcode of the file protocol (`lego_proto::op` ranges).
pub const OP_BASE: u32 = 32;
/// Stat a path. Reply: [`FsStat`].
pub const STAT: u32 = 32;
/// Open a file, creating or truncating it per `flags` ([`flags`]). Reply: [`FsStat`].
pub const OPEN: u32 = 33;
/// Make a directory (`mode`).
pub const MKDIR: u32 = 34;
/// Read up to `len` bytes at `offset`. Reply: the bytes (short at end of file).
pub const READ: u32 = 35;
/// Write the request's data at `offset`, then fsync the file if `flags` has [`flags::SYNC`].
/// Reply: bytes written (`u32`).
pub const WRITE: u32 = 36;
/// Set a file's size to `offset`.
pub const TRUNCATE: u32 = 37;
/// Remove a file.
pub const UNLINK: u32 = 38;
/// Remove an empty directory.
pub const RMDIR: u32 = 39;
/// Rename the path to the second path (files only).
pub const RENAME: u32 = 40;
/// List a directory from entry index `offset`. Reply: [`DirHeader`] then entries.
pub const READDIR: u32 = 41;
/// Make the file's data and metadata durable.
pub const FSYNC: u32 = 42;
/// Capacity and use of the vNode's storage. Reply: [`FsStatFs`].
pub const STATFS: u32 = 43;
/// Write back everything dirty, make it durable, and empty the buffer cache (benchmarks
/// measure with a cold cache). The path is ignored.
pub const DROP_CACHES: u32 = 44;
/// Time 4 KiB operations on the file from the buffer cache itself, without a client's hop
/// (`lego bench storage` compares both). Data: a [`BenchRequest`]. Reply: each operation's
/// latency in ns, a `u32` each. Only mComponents serve it (an sComponent answers `ENOTSUP`).
pub const BENCH: u32 = 45;
/// Hold data blocks for a buffer cache's dirty data (an mComponent asks its vNodes'
/// sComponent): `offset` is the TOTAL number of 4 KiB data blocks the caller wants held for it
/// (absolute, so repeating it changes nothing), `vnode` 0, `storage` the sComponent, no path.
/// It succeeds if the total is at most the free blocks less every other caller's reservation,
/// else `ENOSPC` (the old reservation stands). Reservations are keyed by the calling component
/// and its incarnation (a new incarnation of the caller drops the old one; a restarted
/// sComponent holds none), and a `WRITE` from the caller uses its reservation up by the blocks
/// the write allocated. Reply: [`FsStatFs`] of the space after it. (Client side only here:
/// until the sComponent serves it, it stays outside `OP_BASE..=OP_LAST`, so no monitor
/// registers it and an sComponent answers it as an unknown opcode.)
pub const RESERVE: u32 = 46;
/// Last opcode of the file protocol.
pub const OP_LAST: u32 = 45;

/// Whether `op` belongs to the file protocol.
pub const fn is_fs_op(op: u32) -> bool {
    op >= OP_BASE && op <= OP_LAST
}

/// The name of a file-protocol opcode.
pub const fn op_name(op: u32) -> &'static str {
    match op {
        STAT => "stat",
        OPEN => "open",
        MKDIR => "mkdir",
        READ => "read",
        WRITE => "write",
        TRUNCATE => "truncate",
        UNLINK => "unlink",
        RMDIR => "rmdir",
        RENAME => "rename",
        READDIR => "readdir",
        FSYNC => "fsync",
        STATFS => "statfs",
        DROP_CACHES => "drop_caches",
        BENCH => "bench",
        RESERVE => "reserve",
        _ => "unknown",
    }
}

/// Request flags: `OPEN`'s, and `WRITE`'s [`flags::SYNC`].
pub mod flags {
    /// Create the file if it does not exist.
    pub const CREATE: u32 = 1;
    /// With `CREATE`: fail if it exists.
    pub const EXCL: u32 = 2;
    /// Truncate it to zero length.
    pub const TRUNC: u32 = 4;
    /// Every `OPEN` flag.
    pub const ALL: u32 = CREATE | EXCL | TRUNC;
    /// `WRITE` only: then fsync the file, as one request (a buffer cache's last write-back of
    /// an fsync: one round trip to the sComponent instead of two).
    pub const SYNC: u32 = 8;
}

/// Largest read or write in one request: with the header and two maximal paths it stays
/// under the RPC layer's payload limit.
pub const MAX_IO: usize = 32 << 10;
/// Longest path, bytes (as the storage format's).
pub const MAX_PATH: usize = 4096;

/// Reply statuses for failures are `ERRNO_BASE + errno`.
pub const ERRNO_BASE: u32 = 0x100;

/// The Linux errno values the file protocol uses.
pub mod errno {
    /// Operation not permitted.
    pub const EPERM: u32 = 1;
    /// No such file or directory.
    pub const ENOENT: u32 = 2;
    /// I/O error.
    pub const EIO: u32 = 5;
    /// Device or resource busy.
    pub const EBUSY: u32 = 16;
    /// File exists.
    pub const EEXIST: u32 = 17;
    /// Not a directory.
    pub const ENOTDIR: u32 = 20;
    /// Is a directory.
    pub const EISDIR: u32 = 21;
    /// Invalid argument.
    pub const EINVAL: u32 = 22;
    /// File too large.
    pub const EFBIG: u32 = 27;
    /// No space left on device.
    pub const ENOSPC: u32 = 28;
    /// File name too long.
    pub const ENAMETOOLONG: u32 = 36;
    /// Directory not empty.
    pub const ENOTEMPTY: u32 = 39;
    /// Operation not supported.
    pub const ENOTSUP: u32 = 95;
    /// Host is down: the storage component cannot be reached.
    pub const EHOSTDOWN: u32 = 112;
    /// Structure needs cleaning: the storage found corruption (Linux's EFSCORRUPTED).
    pub const EUCLEAN: u32 = 117;
}

/// The reply status of `errno`.
pub const fn status_of(errno: u32) -> u32 {
    ERRNO_BASE + errno
}

/// The errno of a reply status, if it is one.
pub const fn errno_of(status: u32) -> Option<u32> {
    if status > ERRNO_BASE && status < ERRNO_BASE + 4096 {
        Some(status - ERRNO_BASE)
    } else {
        None
    }
}

/// What `errno` means, for people.
pub const fn errno_text(e: u32) -> &'static str {
    match e {
        errno::EPERM => "operation not permitted",
        errno::ENOENT => "no such file or directory",
        errno::EIO => "I/O error",
        errno::EBUSY => "busy",
        errno::EEXIST => "file exists",
        errno::ENOTDIR => "not a directory",
        errno::EISDIR => "is a directory",
        errno::EINVAL => "invalid argument (paths must be absolute, without `.`, `..` or `//`)",
        errno::EFBIG => "file too large",
        errno::ENOSPC => "no space left on device",
        errno::ENAMETOOLONG => "file name too long",
        errno::ENOTEMPTY => "directory not empty",
        errno::ENOTSUP => "operation not supported",
        errno::EHOSTDOWN => "storage component unreachable",
        errno::EUCLEAN => "storage corrupted (a checksum failed)",
        _ => "error",
    }
}

/// A request's fixed part.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FsRequest {
    /// The vNode whose namespace the paths are in.
    pub vnode: u32,
    /// `OPEN` flags, or `WRITE`'s `SYNC` ([`flags`]).
    pub flags: u32,
    /// Mode of a new file or directory.
    pub mode: u32,
    /// The sComponent holding the vNode's files (where a buffer cache forwards to).
    pub storage: u32,
    /// Read/write offset, new size (truncate), first entry (readdir).
    pub offset: u64,
    /// Bytes to read; bytes of data that follow (write).
    pub len: u32,
    /// Bytes of the path.
    pub path_len: u16,
    /// Bytes of the second path (rename), else 0.
    pub path2_len: u16,
}

/// Size of [`FsRequest`].
pub const REQUEST_BYTES: usize = core::mem::size_of::<FsRequest>();

/// Why a request could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than its header says.
    Truncated,
    /// Longer than its header says.
    TrailingBytes,
    /// A path is not UTF-8.
    BadUtf8,
    /// A path is longer than [`MAX_PATH`].
    PathTooLong,
    /// A read or write is larger than [`MAX_IO`].
    TooLarge,
    /// Unknown `OPEN` flags, or a second path where none belongs.
    BadField,
}

impl DecodeError {
    /// The errno to answer with.
    pub const fn errno(self) -> u32 {
        match self {
            DecodeError::PathTooLong => errno::ENAMETOOLONG,
            _ => errno::EINVAL,
        }
    }
}

/// A decoded request, borrowing from the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The fixed part.
    pub head: FsRequest,
    /// The path.
    pub path: &'a str,
    /// The second path (rename), else empty.
    pub path2: &'a str,
    /// The data (write), else empty.
    pub data: &'a [u8],
}

impl<'a> Request<'a> {
    /// Decodes a request of opcode `op`. Checks framing only: paths are validated (canonical,
    /// absolute) by whoever keys on them.
    pub fn decode(op: u32, bytes: &'a [u8]) -> Result<Request<'a>, DecodeError> {
        let (head, rest) =
            FsRequest::read_from_prefix(bytes).map_err(|_| DecodeError::Truncated)?;
        let p1 = usize::from(head.path_len);
        let p2 = usize::from(head.path2_len);
        if p1 > MAX_PATH || p2 > MAX_PATH {
            return Err(DecodeError::PathTooLong);
        }
        if p2 != 0 && op != RENAME {
            return Err(DecodeError::BadField);
        }
        let allowed = match op {
            OPEN => flags::ALL,
            WRITE => flags::SYNC,
            BENCH => 0,
            _ => u32::MAX,
        };
        if head.flags & !allowed != 0 {
            return Err(DecodeError::BadField);
        }
        let data_len = match op {
            WRITE | BENCH => head.len as usize,
            _ => 0,
        };
        if (matches!(op, WRITE | READ) && head.len as usize > MAX_IO)
            || (op == BENCH && head.len as usize > BENCH_BYTES)
        {
            return Err(DecodeError::TooLarge);
        }
        let need = p1 + p2 + data_len;
        if rest.len() < need {
            return Err(DecodeError::Truncated);
        }
        if rest.len() > need {
            return Err(DecodeError::TrailingBytes);
        }
        let path = core::str::from_utf8(&rest[..p1]).map_err(|_| DecodeError::BadUtf8)?;
        let path2 = core::str::from_utf8(&rest[p1..p1 + p2]).map_err(|_| DecodeError::BadUtf8)?;
        Ok(Request {
            head,
            path,
            path2,
            data: &rest[p1 + p2..],
        })
    }

    /// Bytes [`Request::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        REQUEST_BYTES + self.path.len() + self.path2.len() + self.data.len()
    }

    /// Encodes into `out` (at least [`Request::encoded_len`] bytes), fixing up the path lengths
    /// in the header, and `len` when there is data (a write); returns the bytes written, or
    /// `None` if `out` is too small or a field does not fit. A write without data must have
    /// `len` 0.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let n = self.encoded_len();
        if out.len() < n || self.path.len() > MAX_PATH || self.path2.len() > MAX_PATH {
            return None;
        }
        let mut head = self.head;
        head.path_len = u16::try_from(self.path.len()).ok()?;
        head.path2_len = u16::try_from(self.path2.len()).ok()?;
        if !self.data.is_empty() {
            head.len = u32::try_from(self.data.len()).ok()?;
        }
        out[..REQUEST_BYTES].copy_from_slice(head.as_bytes());
        let mut at = REQUEST_BYTES;
        for part in [self.path.as_bytes(), self.path2.as_bytes(), self.data] {
            out[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        Some(n)
    }
}

/// A [`BENCH`] request's data: which operations to time.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct BenchRequest {
    /// Pages of the file the offsets fall in.
    pub pages: u64,
    /// Seed of the random offsets.
    pub seed: u64,
    /// Index of the first operation (a long run is timed in several requests).
    pub first: u64,
    /// Operations, at most [`BENCH_MAX_OPS`].
    pub ops: u32,
    /// [`bench`] flags.
    pub flags: u32,
}

/// Size of [`BenchRequest`].
pub const BENCH_BYTES: usize = core::mem::size_of::<BenchRequest>();

/// Most operations one [`BENCH`] request times: their latencies fill a reply.
pub const BENCH_MAX_OPS: u32 = (crate::rpc::MAX_PAYLOAD / 4) as u32;

/// [`BenchRequest::flags`].
pub mod bench {
    /// Writes, each followed by an fsync, rather than reads.
    pub const WRITE: u32 = 1;
    /// Random pages rather than sequential ones.
    pub const RANDOM: u32 = 2;
}

/// The page a benchmark's `i`-th operation touches in a file of `pages` pages: `i` in turn,
/// or a seeded SplitMix64 of `i` (cheap, well spread, the same on every side).
pub fn bench_page(i: u64, pages: u64, random: bool, seed: u64) -> u64 {
    if !random {
        return i % pages.max(1);
    }
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % pages.max(1)
}

/// What a path names.
pub mod kind {
    /// A regular file.
    pub const FILE: u32 = 1;
    /// A directory.
    pub const DIR: u32 = 2;
}

/// `STAT` and `OPEN` reply.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FsStat {
    /// [`kind`].
    pub kind: u32,
    /// Mode given at creation.
    pub mode: u32,
    /// Size in bytes.
    pub size: u64,
    /// Modification counter (bumped by every write or truncate; never goes backwards).
    pub version: u64,
}

/// `STATFS` reply.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FsStatFs {
    /// Block size.
    pub block_size: u64,
    /// Data blocks in all.
    pub blocks: u64,
    /// Data blocks free.
    pub blocks_free: u64,
    /// Largest file, bytes.
    pub max_file_size: u64,
    /// Metadata bytes used.
    pub meta_used: u64,
    /// Metadata bytes available.
    pub meta_capacity: u64,
    /// Round trips to the sComponent's disk for requests so far (a batch of requests each).
    pub dev_round_trips: u64,
    /// Nanoseconds the sComponent spent waiting for its disk serving requests so far (VM exits
    /// and the host's I/O: the floor under every file operation that reaches the disk; not
    /// the confirm blocks it hands over while idle).
    pub dev_wait_ns: u64,
}

/// `READDIR` reply header; entries follow, each `kind: u8, name_len: u8, name`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct DirHeader {
    /// Entries in this reply.
    pub count: u32,
    /// Zero.
    pub _pad: u32,
    /// Entry index to ask for next, or [`DIR_END`].
    pub next: u64,
}

/// `DirHeader::next` when the listing is complete.
pub const DIR_END: u64 = u64::MAX;

/// One directory entry, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// [`kind`].
    pub kind: u32,
    /// The name (last component).
    pub name: &'a str,
}

/// Appends an entry to a `READDIR` reply being built in `out` at `*at`; false if it does not
/// fit (or the name is longer than 255 bytes).
pub fn push_entry(out: &mut [u8], at: &mut usize, kind: u32, name: &str) -> bool {
    let n = name.len();
    if n > 255 || *at + 2 + n > out.len() {
        return false;
    }
    out[*at] = kind as u8;
    out[*at + 1] = n as u8;
    out[*at + 2..*at + 2 + n].copy_from_slice(name.as_bytes());
    *at += 2 + n;
    true
}

/// Decodes a `READDIR` reply: its header and its entries (`None` if malformed).
pub fn parse_dir(bytes: &[u8]) -> Option<(DirHeader, DirEntries<'_>)> {
    let (h, rest) = DirHeader::read_from_prefix(bytes).ok()?;
    let entries = DirEntries {
        rest,
        left: h.count,
    };
    // Validate the whole reply up front so iteration cannot fail half way.
    let mut check = entries;
    for _ in 0..h.count {
        check.next()?;
    }
    if !check.rest.is_empty() {
        return None;
    }
    Some((h, entries))
}

/// The entries of a `READDIR` reply (iterated without allocating).
#[derive(Clone, Copy, Debug)]
pub struct DirEntries<'a> {
    rest: &'a [u8],
    left: u32,
}

impl<'a> Iterator for DirEntries<'a> {
    type Item = DirEntry<'a>;

    fn next(&mut self) -> Option<DirEntry<'a>> {
        if self.left == 0 {
            return None;
        }
        let (&kind, rest) = self.rest.split_first()?;
        let (&n, rest) = rest.split_first()?;
        let n = usize::from(n);
        if rest.len() < n {
            return None;
        }
        let name = core::str::from_utf8(&rest[..n]).ok()?;
        self.rest = &rest[n..];
        self.left -= 1;
        Some(DirEntry {
            kind: u32::from(kind),
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;

    fn req<'a>(path: &'a str, path2: &'a str, data: &'a [u8]) -> Request<'a> {
        Request {
            head: FsRequest {
                vnode: 7,
                flags: 0,
                mode: 0o644,
                storage: 3,
                offset: 4096,
                len: 0,
                path_len: 0,
                path2_len: 0,
            },
            path,
            path2,
            data,
        }
    }

    #[test]
    fn write_round_trips() {
        let data = [1u8, 2, 3, 4, 5];
        let r = req("/a/b", "", &data);
        let mut buf = vec![0u8; r.encoded_len()];
        let n = r.encode(&mut buf).expect("fits");
        let back = Request::decode(WRITE, &buf[..n]).expect("decodes");
        assert_eq!(back.path, "/a/b");
        assert_eq!(back.data, &data);
        assert_eq!(back.head.len, 5);
        assert_eq!(back.head.vnode, 7);
    }

    #[test]
    fn framing_errors_are_reported() {
        let r = req("/x", "/y", b"");
        let mut buf = vec![0u8; r.encoded_len()];
        let n = r.encode(&mut buf).expect("fits");
        Request::decode(RENAME, &buf[..n]).expect("a valid rename");
        assert_eq!(
            Request::decode(UNLINK, &buf[..n]),
            Err(DecodeError::BadField)
        );
        assert_eq!(
            Request::decode(RENAME, &buf[..n - 1]),
            Err(DecodeError::Truncated)
        );
        let mut longer = buf.clone();
        longer.push(0);
        assert_eq!(
            Request::decode(RENAME, &longer),
            Err(DecodeError::TrailingBytes)
        );
        assert_eq!(
            Request::decode(STAT, &[0u8; 3]),
            Err(DecodeError::Truncated)
        );
        let mut bad = req("/x", "", b"");
        bad.head.flags = 8;
        let mut b = vec![0u8; bad.encoded_len()];
        let n = bad.encode(&mut b).expect("fits");
        assert_eq!(Request::decode(OPEN, &b[..n]), Err(DecodeError::BadField));
        // SYNC belongs to WRITE only; OPEN's flags do not.
        bad.head.flags = flags::SYNC | flags::CREATE;
        let n = bad.encode(&mut b).expect("fits");
        assert_eq!(Request::decode(WRITE, &b[..n]), Err(DecodeError::BadField));
        bad.head.flags = flags::SYNC;
        let n = bad.encode(&mut b).expect("fits");
        Request::decode(WRITE, &b[..n]).expect("SYNC is a WRITE flag");
        let mut big = req("/x", "", b"");
        big.head.len = MAX_IO as u32 + 1;
        let mut b = vec![0u8; big.encoded_len()];
        let n = big.encode(&mut b).expect("fits");
        assert_eq!(Request::decode(READ, &b[..n]), Err(DecodeError::TooLarge));
    }

    #[test]
    fn non_utf8_paths_are_refused() {
        let mut buf = vec![0u8; REQUEST_BYTES + 2];
        let head = FsRequest {
            path_len: 2,
            ..Default::default()
        };
        buf[..REQUEST_BYTES].copy_from_slice(head.as_bytes());
        buf[REQUEST_BYTES] = 0xff;
        buf[REQUEST_BYTES + 1] = 0xfe;
        assert_eq!(Request::decode(STAT, &buf), Err(DecodeError::BadUtf8));
    }

    #[test]
    fn directory_listing_round_trips() {
        let mut out = vec![0u8; 64];
        let mut at = core::mem::size_of::<DirHeader>();
        assert!(push_entry(&mut out, &mut at, kind::FILE, "a.txt"));
        assert!(push_entry(&mut out, &mut at, kind::DIR, "sub"));
        let h = DirHeader {
            count: 2,
            _pad: 0,
            next: DIR_END,
        };
        out[..16].copy_from_slice(h.as_bytes());
        let (hh, entries) = parse_dir(&out[..at]).expect("valid");
        assert_eq!(hh.next, DIR_END);
        let v: Vec<_> = entries.map(|e| (e.kind, e.name)).collect();
        assert_eq!(v, [(kind::FILE, "a.txt"), (kind::DIR, "sub")]);
        // An entry that does not fit is refused, and the cursor does not move.
        let before = at;
        assert!(!push_entry(
            &mut out,
            &mut at,
            kind::FILE,
            "a-long-name-1234567890-abcdefghijklmnop"
        ));
        assert_eq!(at, before);
        // A count larger than the entries present is malformed.
        let h = DirHeader { count: 3, ..h };
        out[..16].copy_from_slice(h.as_bytes());
        assert!(parse_dir(&out[..at]).is_none());
    }

    #[test]
    fn reserve_carries_its_total_in_offset() {
        let r = Request {
            head: FsRequest {
                offset: 4096,
                storage: 3,
                ..Default::default()
            },
            path: "",
            path2: "",
            data: b"",
        };
        let mut buf = vec![0u8; r.encoded_len()];
        let n = r.encode(&mut buf).expect("fits");
        let back = Request::decode(RESERVE, &buf[..n]).expect("decodes");
        assert_eq!(
            (back.head.offset, back.head.vnode, back.path),
            (4096, 0, "")
        );
        assert_eq!(op_name(RESERVE), "reserve");
    }

    #[test]
    fn errno_statuses_round_trip() {
        assert_eq!(errno_of(status_of(errno::ENOENT)), Some(errno::ENOENT));
        assert_eq!(errno_of(crate::rpc::status::BAD_REQUEST), None);
        assert!(is_fs_op(READ) && !is_fs_op(crate::op::LOAD_REPORT));
    }

    #[test]
    fn bench_requests_carry_their_parameters_and_nothing_else() {
        let b = BenchRequest {
            pages: 16384,
            seed: 9,
            first: 4000,
            ops: 2000,
            flags: bench::RANDOM,
        };
        let r = req("/bench.bin", "", b.as_bytes());
        let mut buf = vec![0u8; r.encoded_len()];
        let n = r.encode(&mut buf).expect("fits");
        let back = Request::decode(BENCH, &buf[..n]).expect("decodes");
        assert_eq!(BenchRequest::read_from_bytes(back.data), Ok(b));
        // Header flags are not bench flags, and the data is one BenchRequest at most.
        let mut h = FsRequest::read_from_prefix(&buf).expect("header").0;
        h.flags = flags::SYNC;
        buf[..REQUEST_BYTES].copy_from_slice(h.as_bytes());
        assert_eq!(
            Request::decode(BENCH, &buf[..n]),
            Err(DecodeError::BadField)
        );
        let long = [0u8; BENCH_BYTES + 8];
        let r = req("/bench.bin", "", &long);
        let mut buf = vec![0u8; r.encoded_len()];
        let n = r.encode(&mut buf).expect("fits");
        assert_eq!(
            Request::decode(BENCH, &buf[..n]),
            Err(DecodeError::TooLarge)
        );
    }

    #[test]
    fn bench_pages_are_sequential_or_seeded_and_in_range() {
        let seq: Vec<u64> = (0..6).map(|i| bench_page(i, 4, false, 1)).collect();
        assert_eq!(seq, [0, 1, 2, 3, 0, 1]);
        let a: Vec<u64> = (0..1000).map(|i| bench_page(i, 100, true, 7)).collect();
        let b: Vec<u64> = (0..1000).map(|i| bench_page(i, 100, true, 7)).collect();
        let c: Vec<u64> = (0..1000).map(|i| bench_page(i, 100, true, 8)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|&p| p < 100));
        // Well spread: most pages of a small file are hit.
        let mut seen = [false; 100];
        a.iter().for_each(|&p| seen[p as usize] = true);
        assert!(seen.iter().filter(|&&s| s).count() > 95);
        assert_eq!(bench_page(5, 0, true, 3), 0);
    }

    proptest! {
        /// The decoder never panics and accepts exactly what the encoder produces.
        #[test]
        fn decoder_never_panics(op in OP_BASE..=OP_LAST, bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Request::decode(op, &bytes);
            if let Some((h, n)) = parse_dir(&bytes).map(|(h, e)| (h, e.count())) {
                prop_assert_eq!(h.count as usize, n);
            }
        }

        #[test]
        fn encode_decode_round_trip(path in "/[a-z]{1,20}(/[a-z0-9]{1,10}){0,3}", data in proptest::collection::vec(any::<u8>(), 0..512), off in any::<u64>()) {
            let mut r = req(&path, "", &data);
            r.head.offset = off;
            let mut buf = vec![0u8; r.encoded_len()];
            let n = r.encode(&mut buf).expect("fits");
            let back = Request::decode(WRITE, &buf[..n]).expect("decodes");
            prop_assert_eq!(back.path, path.as_str());
            prop_assert_eq!(back.data, &data[..]);
            prop_assert_eq!(back.head.offset, off);
        }
    }
}
