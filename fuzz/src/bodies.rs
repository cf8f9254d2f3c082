//! The bodies of the fuzz targets, as plain functions of the fuzzer's bytes.
//!
//! Shared by the cargo-fuzz targets (`fuzz/src/lib.rs`) and by lego-fs's stable integration test
//! `lego-fs/tests/fuzz_replay.rs`, which both include this file with `#[path]`; so it depends on
//! nothing but `lego_fs`, `lego_proto` and `std`. Every body interprets its input through
//! [`Input`], which never fails (it reads zeros past the end), so any byte string is a valid
//! test case and random bytes already go deep. A panic is a finding; `expect` marks the
//! properties being checked.
//!
//! * [`fs_request`]: a sequence of storage-monitor requests (well-formed, damaged or raw) through
//!   `lego_fs::serve::handle`; replies must be well-formed, errors must be errnos other than
//!   EIO/EUCLEAN (the disk is healthy), and after `sync` a remount must show every path the
//!   sequence created and exactly the state (tree, stats, contents, space) it had before.
//! * [`proto_decode`]: `Request::decode` for every opcode and `parse_dir` on the bytes, and the
//!   encode side: what decodes re-encodes to the same bytes, what is encoded decodes back.
//! * [`image_mount`]: byte mutations of a valid image, with or without fixing up the checksums
//!   of the superblock, checkpoint headers and journal blocks afterwards (to get past them into
//!   the record decoder and the metadata validation). `mount` must return, reads must return
//!   data or `Corrupted`, and a write/fsync/unmount/remount cycle must not panic and must keep
//!   the state. Without checksum fix-ups the damage must be detected or harmless: a mounted
//!   image shows exactly the state after some operation of the image's history.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use lego_fs::serve::{handle, handle_client};
use lego_fs::testdev::{CrashDisk, MemDisk};
use lego_fs::{BLOCK_SIZE, BlockDevice, Client, FileKind, FormatOptions, Fs, FsError, Layout};
use lego_proto::fs::{
    self as proto, DIR_END, DirHeader, FsRequest, FsStat, FsStatFs, MAX_IO, REQUEST_BYTES, Request,
    errno, flags, kind, parse_dir, push_entry,
};

// ---------------------------------------------------------------------------------------------
// Input

/// A cursor over the fuzzer's bytes that never fails: past the end everything reads as zero.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        let b = self.bytes(N);
        a[..b.len()].copy_from_slice(b);
        a
    }

    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// A coin flip, from one byte.
    pub fn flip(&mut self) -> bool {
        self.u8() & 1 == 0
    }

    /// An index below `n` (`n > 0`), from one byte.
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.u8()) % n.max(1)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// The vNodes the generated requests and images use.
const VNODES: [u32; 3] = [1, 2, 7];
/// Most bytes of a file a dump reads (then it reads the last block too): bounds the work on
/// crafted images whose files are huge and sparse.
const READ_CAP: u64 = 256 << 10;
const BS: u64 = BLOCK_SIZE as u64;

/// Distinctive, never-zero bytes.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((usize::from(seed) * 31 + i) % 251) as u8 + 1)
        .collect()
}

/// FNV-1a, to keep whole states small.
fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// What a dump records of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    kind: FileKind,
    mode: u32,
    size: u64,
    version: u64,
    /// Hash of the contents read (files).
    hash: u64,
}

/// Everything visible in the dumped vNodes: (vnode, path) → entry.
type State = BTreeMap<(u32, String), Entry>;

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Hashes a file's contents (the first `READ_CAP` bytes and the last block). Reads must return
/// exactly the bytes up to the end of file: short only at EOF.
fn hash_file<D: BlockDevice>(
    fs: &mut Fs<D>,
    v: u32,
    path: &str,
    size: u64,
) -> Result<u64, FsError> {
    let mut h = fnv(FNV_START, &size.to_le_bytes());
    let mut buf = vec![0u8; 64 << 10];
    let mut ranges = vec![(0, size.min(READ_CAP))];
    if size > READ_CAP {
        ranges.push(((size - 1) / BS * BS, size));
    }
    for (mut off, end) in ranges {
        while off < end {
            let want = (end - off).min(buf.len() as u64) as usize;
            let n = fs.read(v, path, off, &mut buf[..want])?;
            assert_eq!(n, want, "short read of {v}:{path} at {off} (size {size})");
            h = fnv(h, &buf[..n]);
            off += n as u64;
        }
    }
    Ok(h)
}

/// The whole visible state of `vnodes`. Each readdir entry must stat as its listed kind.
fn dump<D: BlockDevice>(fs: &mut Fs<D>, vnodes: &[u32]) -> Result<State, FsError> {
    let mut state = State::new();
    for &v in vnodes {
        let mut dirs = vec![String::from("/")];
        while let Some(dir) = dirs.pop() {
            for e in fs.readdir(v, &dir)? {
                let path = join(&dir, &e.name);
                let st = fs.stat(v, &path)?;
                assert_eq!(st.kind, e.kind, "readdir and stat disagree on {v}:{path}");
                let hash = match st.kind {
                    FileKind::Dir => {
                        dirs.push(path.clone());
                        0
                    }
                    FileKind::File => hash_file(fs, v, &path, st.size)?,
                };
                let entry = Entry {
                    kind: st.kind,
                    mode: st.mode,
                    size: st.size,
                    version: st.version,
                    hash,
                };
                let dup = state.insert((v, path.clone()), entry);
                assert!(dup.is_none(), "{v}:{path} listed twice");
            }
        }
    }
    Ok(state)
}

// ---------------------------------------------------------------------------------------------
// fs_request

/// Devices and format options the request sequences run on: a tiny journal and metadata area
/// (frequent checkpoints, metadata `NoSpace`), a roomier one, and default sizing with a small
/// maximum file size.
fn request_geometry(i: usize) -> (u64, FormatOptions) {
    match i % 3 {
        0 => (
            96,
            FormatOptions {
                max_file_size: 1 << 20,
                checkpoint_blocks: Some(4),
                log_blocks: Some(2),
            },
        ),
        1 => (
            256,
            FormatOptions {
                max_file_size: 1 << 20,
                checkpoint_blocks: Some(8),
                log_blocks: Some(8),
            },
        ),
        _ => (
            160,
            FormatOptions {
                max_file_size: 64 << 10,
                checkpoint_blocks: None,
                log_blocks: None,
            },
        ),
    }
}

/// Valid paths first (`VALID` of them), then malformed ones.
const PATHS: [&str; 16] = [
    "/", "/a", "/b", "/d", "/d/a", "/d/e", "/d/e/f", "/d/x", "/a/x", "", "a", "//a", "/d/", "/.",
    "/d/..", "/d/./a",
];
const VALID: usize = 9;

/// A path, as bytes (possibly not UTF-8).
fn gen_path(inp: &mut Input) -> Vec<u8> {
    match inp.u8() % 32 {
        // Mostly short paths near the root, so that parents tend to exist.
        0..=15 => PATHS[1 + inp.below(3)].as_bytes().to_vec(),
        16..=24 => PATHS[inp.below(VALID)].as_bytes().to_vec(),
        25 => PATHS[VALID + inp.below(PATHS.len() - VALID)]
            .as_bytes()
            .to_vec(),
        26 | 27 => {
            // A directory of the dictionary and a name from the input.
            let mut p = ["", "/d", "/d/e"][inp.below(3)].as_bytes().to_vec();
            p.push(b'/');
            let n = inp.below(12);
            p.extend_from_slice(inp.bytes(n));
            p
        }
        28 => {
            // Around the longest name.
            let n = 250 + inp.below(10);
            let mut p = vec![b'n'; n + 1];
            p[0] = b'/';
            p
        }
        29 => {
            // Around the longest path: 16 components of 255 bytes are exactly 4096 bytes.
            let mut p = Vec::new();
            for _ in 0..16 {
                p.push(b'/');
                p.extend_from_slice(&[b'm'; 255]);
            }
            match inp.u8() % 3 {
                0 => {}
                1 => p.push(b'z'),
                _ => {
                    p.truncate(p.len() - 1 - inp.below(4));
                }
            }
            p
        }
        30 => {
            let n = inp.below(32);
            inp.bytes(n).to_vec()
        }
        _ => b"/d/e/f/g".to_vec(),
    }
}

fn gen_offset(inp: &mut Input, max_file: u64) -> u64 {
    match inp.u8() % 16 {
        0..=4 => u64::from(inp.u16()),
        5 | 6 => u64::from(inp.u8() % 64) * BS,
        7 | 8 => (u64::from(inp.u8() % 64) + 1) * BS - 1 - u64::from(inp.u8() % 8),
        9 => max_file.saturating_sub(u64::from(inp.u16())),
        10 => u64::MAX - u64::from(inp.u16()),
        11 => inp.u64(),
        _ => 0,
    }
}

fn gen_len(inp: &mut Input) -> usize {
    match inp.u8() % 8 {
        0 => 0,
        1 | 2 => usize::from(inp.u8()),
        3 => usize::from(inp.u16()) % (3 * BLOCK_SIZE),
        4 => BLOCK_SIZE,
        5 => MAX_IO,
        6 => MAX_IO + 1,
        _ => usize::from(inp.u16()) % (MAX_IO + 1),
    }
}

/// Builds the bytes of a request for `op`: usually well-formed, sometimes with damaged framing.
/// Often it names a path that `known` (paths that exist, with their vNodes) holds, so that most
/// operations reach an existing file or directory.
fn gen_request(inp: &mut Input, op: u32, max_file: u64, known: &[(u32, String)]) -> Vec<u8> {
    if op == proto::RESERVE && inp.u8() < 200 {
        // A well-formed reservation of a few blocks (the disks here are small).
        return raw_reserve(u64::from(inp.u16() % 600));
    }
    let b = inp.u8();
    let (vnode, path) = match b {
        0..=127 if !known.is_empty() => {
            let (v, p) = &known[usize::from(b) % known.len()];
            (*v, p.as_bytes().to_vec())
        }
        0..=199 => (VNODES[0], gen_path(inp)),
        200..=249 => (VNODES[usize::from(b) % VNODES.len()], gen_path(inp)),
        _ => (inp.u32(), gen_path(inp)),
    };
    let extra = inp.u8();
    let path2 = if op == proto::RENAME || extra.is_multiple_of(32) {
        match inp.u8() {
            r @ 0..=63 if !known.is_empty() => {
                known[usize::from(r) % known.len()].1.as_bytes().to_vec()
            }
            _ => gen_path(inp),
        }
    } else {
        Vec::new()
    };
    let fl = match inp.u8() {
        f @ 0..=0xef => u32::from(f) & (flags::ALL | flags::SYNC),
        _ => inp.u32(),
    };
    let mode = u32::from(inp.u16());
    let offset = gen_offset(inp, max_file);
    let (len, data) = match op {
        proto::WRITE => {
            let n = gen_len(inp);
            (0, pattern(inp.u8(), n))
        }
        proto::READ => (gen_len(inp) as u32, Vec::new()),
        _ if extra % 8 == 1 => (inp.u32(), Vec::new()),
        _ => (0, Vec::new()),
    };
    // Encode with placeholder paths of the right lengths, then put the real bytes in (they
    // may not be UTF-8, which the encoder cannot take).
    let (p1, p2) = (
        "x".repeat(path.len().min(u16::MAX.into())),
        "x".repeat(path2.len().min(u16::MAX.into())),
    );
    let r = Request {
        head: FsRequest {
            vnode,
            flags: fl,
            mode,
            storage: u32::from(extra),
            offset,
            len,
            path_len: 0,
            path2_len: 0,
        },
        path: &p1,
        path2: &p2,
        data: &data,
    };
    let mut out = vec![0u8; r.encoded_len()];
    let Some(n) = r.encode(&mut out) else {
        // Paths over MAX_PATH: send the header and the bytes raw.
        return raw_frame(vnode, &path, &path2, &data);
    };
    out.truncate(n);
    out[REQUEST_BYTES..REQUEST_BYTES + p1.len()].copy_from_slice(&path[..p1.len()]);
    let at2 = REQUEST_BYTES + p1.len();
    out[at2..at2 + p2.len()].copy_from_slice(&path2[..p2.len()]);
    // Damaged framing, sometimes.
    match inp.u8() {
        0..=239 => {}
        240..=243 => {
            out.pop();
        }
        244..=247 => out.push(inp.u8()),
        248..=251 => {
            let at = inp.below(REQUEST_BYTES);
            out[at] = inp.u8();
        }
        _ => {
            let keep = inp.below(out.len());
            out.truncate(keep);
        }
    }
    out
}

/// A `RESERVE` request for `blocks` blocks.
fn raw_reserve(blocks: u64) -> Vec<u8> {
    let r = Request {
        head: FsRequest {
            offset: blocks,
            ..FsRequest::default()
        },
        path: "",
        path2: "",
        data: &[],
    };
    let mut out = vec![0u8; r.encoded_len()];
    let n = r.encode(&mut out).expect("encode a reserve request");
    out.truncate(n);
    out
}

/// A frame with the lengths set as the header format says, whatever they are.
fn raw_frame(vnode: u32, path: &[u8], path2: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&vnode.to_le_bytes());
    out.extend_from_slice(&[0; 12]); // flags, mode, storage
    out.extend_from_slice(&0u64.to_le_bytes()); // offset
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(path.len() as u16).to_le_bytes());
    out.extend_from_slice(&(path2.len() as u16).to_le_bytes());
    debug_assert_eq!(out.len(), REQUEST_BYTES);
    out.extend_from_slice(path);
    out.extend_from_slice(path2);
    out.extend_from_slice(data);
    out
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Checks one reply of `handle` and returns the kind a `STAT`/`OPEN` reply reports.
fn check_reply<'a>(
    op: u32,
    req: &'a [u8],
    res: Result<usize, u32>,
    reply: &[u8],
) -> Option<(Request<'a>, Option<u32>)> {
    let decoded = Request::decode(op, req);
    let n = match res {
        Err(status) => {
            match proto::errno_of(status) {
                Some(e) => {
                    assert!(
                        e != errno::EIO && e != errno::EUCLEAN,
                        "op {op} ({}) on a healthy disk failed with errno {e}",
                        proto::op_name(op)
                    );
                    if let Err(d) = decoded {
                        assert_eq!(e, d.errno(), "op {op}: decode error {d:?} answered as {e}");
                    }
                }
                None => assert!(
                    status == lego_proto::rpc::status::UNKNOWN_OPCODE && !proto::is_fs_op(op),
                    "op {op} ({}) answered with status {status:#x}",
                    proto::op_name(op)
                ),
            }
            return None;
        }
        Ok(n) => n,
    };
    let r = decoded.expect("handle accepted a request the decoder refuses");
    assert!(
        n <= reply.len(),
        "op {op}: reply length {n} > buffer {}",
        reply.len()
    );
    let out = &reply[..n];
    let mut stat_kind = None;
    match op {
        proto::STAT | proto::OPEN => {
            assert_eq!(
                n,
                core::mem::size_of::<FsStat>(),
                "op {op}: stat reply size"
            );
            let k = le_u32(out, 0);
            assert!(k == kind::FILE || k == kind::DIR, "op {op}: stat kind {k}");
            if op == proto::OPEN {
                assert_eq!(k, kind::FILE, "open of {:?} answered a directory", r.path);
            }
            stat_kind = Some(k);
        }
        proto::READ => assert!(
            n <= r.head.len as usize,
            "read returned {n} > {}",
            r.head.len
        ),
        proto::WRITE => {
            assert_eq!(n, 4, "write reply size");
            assert_eq!(le_u32(out, 0) as usize, r.data.len(), "write count");
        }
        proto::READDIR => {
            let (h, entries) = parse_dir(out).expect("readdir reply parses");
            let entries: Vec<_> = entries.collect();
            assert_eq!(entries.len(), h.count as usize);
            for e in &entries {
                assert!(
                    e.kind == kind::FILE || e.kind == kind::DIR,
                    "entry kind {}",
                    e.kind
                );
                assert!(
                    !e.name.is_empty() && !e.name.contains('/'),
                    "entry name {:?}",
                    e.name
                );
            }
            assert!(
                h.next == DIR_END || h.next >= r.head.offset,
                "readdir cursor went backwards"
            );
        }
        proto::STATFS | proto::RESERVE => {
            assert_eq!(n, core::mem::size_of::<FsStatFs>(), "statfs reply size");
            let (blocks, free) = (le_u64(out, 8), le_u64(out, 16));
            let (used, cap) = (le_u64(out, 32), le_u64(out, 40));
            assert!(free <= blocks, "statfs: {free} free of {blocks}");
            assert!(used <= cap, "statfs: {used} bytes of metadata of {cap}");
        }
        _ => assert_eq!(n, 0, "op {op} ({}) replied {n} bytes", proto::op_name(op)),
    }
    Some((r, stat_kind))
}

/// Arbitrary request sequences against a freshly formatted disk; see the module docs.
pub fn fs_request(data: &[u8]) {
    let mut inp = Input::new(data);
    let (blocks, opts) = request_geometry(inp.below(3));
    let mut fs = Fs::format(MemDisk::new(blocks), opts).expect("format a fresh MemDisk");
    // Paths known to exist (those created successfully and not removed since), and their kinds.
    let mut model: BTreeMap<(u32, String), FileKind> = BTreeMap::new();
    let mut vnodes: BTreeSet<u32> = VNODES.into_iter().collect();
    let mut reply = vec![0u8; 64 << 10];
    for _ in 0..48 {
        if inp.is_empty() {
            break;
        }
        let o = inp.u8();
        // Weighted towards the operations that build state, and the data path.
        let op = match o % 32 {
            0..=4 => proto::OPEN,
            5 | 6 => proto::MKDIR,
            7..=11 => proto::WRITE,
            12..=14 => proto::READ,
            15 | 16 => proto::TRUNCATE,
            17 => proto::UNLINK,
            18 => proto::RMDIR,
            19 | 20 => proto::RENAME,
            21 | 22 => proto::STAT,
            23 => proto::READDIR,
            24 => proto::FSYNC,
            25 => proto::OP_BASE + u32::from(inp.u8()) % (proto::OP_LAST - proto::OP_BASE + 1),
            26 => proto::OP_LAST + 1,
            27 => proto::OP_BASE - 1,
            28 => proto::RESERVE,
            29 => inp.u32(),
            _ => proto::STATFS,
        };
        let req = if o >= 0xf0 {
            let n = usize::from(inp.u8());
            inp.bytes(n).to_vec()
        } else {
            let known: Vec<(u32, String)> = model.keys().cloned().collect();
            gen_request(&mut inp, op, opts.max_file_size, &known)
        };
        let rlen = match inp.u8() {
            0..=247 => reply.len(),
            _ => usize::from(inp.u8()),
        };
        // From one of three clients (their reservations), or from none.
        let res = match inp.u8() % 4 {
            3 => handle(&mut fs, op, &req, &mut reply[..rlen]),
            id => {
                let client = Client {
                    id: u32::from(id),
                    incarnation: 1 + u32::from(inp.u8().is_multiple_of(8)),
                };
                handle_client(&mut fs, client, op, &req, &mut reply[..rlen])
            }
        };
        let Some((r, stat_kind)) = check_reply(op, &req, res, &reply[..rlen]) else {
            // A failed operation changes nothing, except that an `OPEN` whose reply did not fit
            // may have created the file: forget its path. A path known to exist must stat.
            if let Ok(r) = Request::decode(op, &req) {
                let key = (r.head.vnode, String::from(r.path));
                match op {
                    proto::OPEN if rlen < reply.len() => {
                        model.remove(&key);
                    }
                    proto::STAT if rlen == reply.len() => assert!(
                        !model.contains_key(&key),
                        "stat of {}:{} failed, though the sequence created it",
                        key.0,
                        key.1
                    ),
                    _ => {}
                }
            }
            continue;
        };
        let (v, path) = (r.head.vnode, String::from(r.path));
        if vnodes.len() < 16 {
            vnodes.insert(v);
        }
        match op {
            proto::STAT => {
                if let Some(&k) = model.get(&(v, path.clone())) {
                    let want = if k == FileKind::Dir {
                        kind::DIR
                    } else {
                        kind::FILE
                    };
                    assert_eq!(
                        stat_kind,
                        Some(want),
                        "stat of {v}:{path} disagrees with history"
                    );
                }
            }
            proto::OPEN => {
                model.insert((v, path), FileKind::File);
            }
            proto::MKDIR => {
                model.insert((v, path), FileKind::Dir);
            }
            proto::UNLINK | proto::RMDIR => {
                model.remove(&(v, path));
            }
            proto::RENAME if r.path != r.path2 => {
                // The target (a file, or an empty directory) is replaced; a directory moves
                // with everything below it.
                let to = String::from(r.path2);
                let moved = model.remove(&(v, path.clone()));
                model.remove(&(v, to.clone()));
                let prefix = format!("{path}/");
                let below: Vec<(u32, String)> = model
                    .keys()
                    .filter(|(kv, kp)| *kv == v && kp.starts_with(&prefix))
                    .cloned()
                    .collect();
                for key in below {
                    if let Some(k) = model.remove(&key) {
                        model.insert((v, format!("{to}{}", &key.1[path.len()..])), k);
                    }
                }
                if let Some(k) = moved {
                    model.insert((v, to), k);
                }
            }
            _ => {}
        }
    }
    for ((v, p), k) in &model {
        let st = fs
            .stat(*v, p)
            .expect("a path created by the sequence exists");
        assert_eq!(st.kind, *k, "{v}:{p}: kind");
    }
    // Reservations live in memory only: a remount drops them.
    let held: u64 = (0..3).map(|id| fs.reserved_for(id)).sum();
    assert!(fs.statfs().free_blocks + held <= fs.statfs().data_blocks);
    for id in 0..3 {
        fs.forget_client(id);
    }
    fs.sync().expect("sync after the request sequence");
    let vnodes: Vec<u32> = vnodes.into_iter().collect();
    let before = dump(&mut fs, &vnodes).expect("dump of a healthy filesystem");
    let space = fs.statfs();
    let mut fs = Fs::mount(fs.into_device()).expect("remount after sync");
    for ((v, p), k) in &model {
        let r = Request {
            head: FsRequest {
                vnode: *v,
                ..FsRequest::default()
            },
            path: p,
            path2: "",
            data: &[],
        };
        let mut req = vec![0u8; r.encoded_len()];
        let n = r.encode(&mut req).expect("encode a stat request");
        let got = handle(&mut fs, proto::STAT, &req[..n], &mut reply);
        let n = got.unwrap_or_else(|s| panic!("stat {v}:{p} after remount: status {s:#x}"));
        let want = if *k == FileKind::Dir {
            kind::DIR
        } else {
            kind::FILE
        };
        assert_eq!(n, core::mem::size_of::<FsStat>());
        assert_eq!(le_u32(&reply, 0), want, "{v}:{p}: kind after remount");
    }
    let after = dump(&mut fs, &vnodes).expect("dump after remount");
    assert!(
        before == after,
        "remount changed the state:\n{before:?}\n{after:?}"
    );
    assert_eq!(space, fs.statfs(), "remount changed the space accounting");
}

// ---------------------------------------------------------------------------------------------
// proto_decode

/// A request's header fields, from the input, for the encode direction.
fn head_from(inp: &mut Input) -> FsRequest {
    FsRequest {
        vnode: inp.u32(),
        flags: match inp.u8() {
            f @ 0..=0xdf => u32::from(f) & (flags::ALL | flags::SYNC),
            _ => inp.u32(),
        },
        mode: inp.u32(),
        storage: inp.u32(),
        offset: inp.u64(),
        len: match inp.u8() % 4 {
            0 => 0,
            1 => u32::from(inp.u16()),
            2 => MAX_IO as u32 + u32::from(inp.u8() % 2),
            _ => inp.u32(),
        },
        path_len: inp.u16(),
        path2_len: inp.u16(),
    }
}

/// The longest UTF-8 prefix of up to `n` input bytes.
fn utf8_from<'a>(inp: &mut Input<'a>, n: usize) -> &'a str {
    let b = inp.bytes(n);
    match core::str::from_utf8(b) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
    }
}

/// Decoding and encoding of requests and directory listings; see the module docs.
pub fn proto_decode(data: &[u8]) {
    for op in proto::OP_BASE.saturating_sub(1)..=proto::OP_LAST + 1 {
        match Request::decode(op, data) {
            Ok(r) => {
                assert_eq!(usize::from(r.head.path_len), r.path.len());
                assert_eq!(usize::from(r.head.path2_len), r.path2.len());
                assert!(
                    r.path2.is_empty() || op == proto::RENAME,
                    "op {op}: second path"
                );
                if op == proto::WRITE {
                    assert_eq!(r.head.len as usize, r.data.len());
                } else {
                    assert!(r.data.is_empty(), "op {op}: data");
                }
                if op == proto::OPEN {
                    assert_eq!(r.head.flags & !flags::ALL, 0, "open flags");
                }
                if op == proto::WRITE {
                    assert_eq!(r.head.flags & !flags::SYNC, 0, "write flags");
                }
                if op == proto::READ || op == proto::WRITE {
                    assert!(r.head.len as usize <= MAX_IO);
                }
                if op == proto::RESERVE {
                    assert!(
                        r.head.vnode == 0
                            && r.head.flags == 0
                            && r.head.len == 0
                            && r.path.is_empty(),
                        "reserve carries only its total"
                    );
                }
                assert_eq!(r.encoded_len(), data.len());
                let mut out = vec![0u8; data.len()];
                let n = r.encode(&mut out).expect("a decoded request re-encodes");
                assert_eq!(n, data.len());
                assert!(out == data, "op {op}: re-encoding differs");
                assert_eq!(Request::decode(op, &out), Ok(r));
                if n > 0 {
                    assert_eq!(
                        r.encode(&mut out[..n - 1]),
                        None,
                        "encode into a short buffer"
                    );
                }
            }
            Err(e) => {
                let e = e.errno();
                assert!(
                    e == errno::EINVAL || e == errno::ENAMETOOLONG,
                    "decode errno {e}"
                );
            }
        }
    }

    if let Some((h, entries)) = parse_dir(data) {
        let entries: Vec<_> = entries.collect();
        assert_eq!(entries.len(), h.count as usize);
        // Rebuild the reply with the encoder: it must come out byte for byte.
        let head = core::mem::size_of::<DirHeader>();
        let mut out = vec![0u8; data.len()];
        out[..4].copy_from_slice(&h.count.to_le_bytes());
        out[4..8].copy_from_slice(&h._pad.to_le_bytes());
        out[8..16].copy_from_slice(&h.next.to_le_bytes());
        let mut at = head;
        for e in &entries {
            assert!(e.kind <= 0xff);
            assert!(
                push_entry(&mut out, &mut at, e.kind, e.name),
                "entry fits again"
            );
        }
        assert_eq!(at, data.len(), "listing length");
        assert!(out == data, "listing re-encoding differs");
    }

    // The other direction: a request built from the input encodes, and decodes back exactly
    // when it follows the framing rules of its opcode.
    let mut inp = Input::new(data);
    let head = head_from(&mut inp);
    let n1 = match inp.u8() % 4 {
        0 => usize::from(inp.u8()),
        1 => proto::MAX_PATH + inp.below(3),
        _ => inp.below(24),
    };
    let path = utf8_from(&mut inp, n1);
    let n2 = inp.below(24);
    let path2 = utf8_from(&mut inp, n2);
    let n3 = match inp.u8() % 4 {
        0 => MAX_IO + inp.below(2),
        _ => inp.below(64),
    };
    let body = pattern(inp.u8(), n3);
    let data_part: &[u8] = if inp.flip() { &body } else { &[] };
    let r = Request {
        head,
        path,
        path2,
        data: data_part,
    };
    let mut out = vec![0u8; r.encoded_len()];
    let Some(n) = r.encode(&mut out) else {
        assert!(
            path.len() > proto::MAX_PATH || path2.len() > proto::MAX_PATH,
            "encode refused a request with paths of {} and {} bytes",
            path.len(),
            path2.len()
        );
        return;
    };
    assert_eq!(n, r.encoded_len());
    let sent = &out[..n];
    let mut fixed = head;
    fixed.path_len = path.len() as u16;
    fixed.path2_len = path2.len() as u16;
    if !data_part.is_empty() {
        fixed.len = data_part.len() as u32;
    }
    for op in proto::OP_BASE..=proto::OP_LAST {
        let framed = (path2.is_empty() || op == proto::RENAME)
            && (op != proto::OPEN || fixed.flags & !flags::ALL == 0)
            && (op != proto::WRITE || fixed.flags & !flags::SYNC == 0)
            && (op != proto::BENCH || fixed.flags == 0)
            && (op != proto::RESERVE
                || (fixed.flags == 0 && fixed.vnode == 0 && path.is_empty() && fixed.len == 0))
            && ((op != proto::READ && op != proto::WRITE) || fixed.len as usize <= MAX_IO)
            && (op != proto::BENCH || fixed.len as usize <= proto::BENCH_BYTES)
            && if op == proto::WRITE || op == proto::BENCH {
                fixed.len as usize == data_part.len()
            } else {
                data_part.is_empty()
            };
        match Request::decode(op, sent) {
            Ok(back) => {
                assert!(
                    framed,
                    "op {op}: decoded a request that breaks the framing rules"
                );
                assert_eq!(back, Request { head: fixed, ..r });
            }
            Err(e) => assert!(!framed, "op {op}: a well-framed request failed: {e:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// image_mount

/// A valid image and every state it may legitimately mount as (the state after each operation
/// of its history: damage may at most drop the newest commits, like a torn one).
#[derive(Debug)]
struct BaseImage {
    disk: MemDisk,
    layout: Layout,
    states: Vec<State>,
    /// Blocks that are not all zeros: where mutations matter most.
    hot: Vec<u64>,
}

fn image_opts() -> FormatOptions {
    FormatOptions {
        max_file_size: 256 << 10,
        checkpoint_blocks: Some(6),
        log_blocks: Some(8),
    }
}
const IMAGE_BLOCKS: u64 = 128;

/// Runs one step of building an image (it must succeed) and records the state after it.
fn step<D: BlockDevice>(
    fs: &mut Fs<D>,
    states: &mut Vec<State>,
    what: &str,
    f: impl FnOnce(&mut Fs<D>) -> lego_fs::Result<()>,
) {
    f(fs).unwrap_or_else(|e| panic!("building the base image: {what}: {e}"));
    states.push(dump(fs, &VNODES).expect("dump while building the base image"));
}

/// The operations of round `round` on every vNode: a small tree, multi-block files, holes,
/// partial-block truncation, renames and removals.
fn populate<D: BlockDevice>(fs: &mut Fs<D>, states: &mut Vec<State>, round: u8) {
    for v in VNODES {
        let r = usize::from(round);
        if round == 0 {
            step(fs, states, "mkdir /d", |fs| fs.mkdir(v, "/d", 0o755));
            step(fs, states, "mkdir /d/e", |fs| fs.mkdir(v, "/d/e", 0o700));
            for p in ["/a", "/d/f", "/d/e/g", "/empty"] {
                step(fs, states, "create", |fs| fs.create(v, p, 0o644));
            }
        }
        let a = pattern(round, 3000 + 1000 * r + v as usize);
        step(fs, states, "write /a", |fs| {
            fs.write(v, "/a", 0, &a).map(drop)
        });
        let f = pattern(round ^ 0x55, 9000);
        step(fs, states, "write /d/f", |fs| {
            fs.write(v, "/d/f", 100 + 7 * r as u64, &f).map(drop)
        });
        let g = pattern(round.wrapping_add(3), 10);
        step(fs, states, "write /d/e/g", |fs| {
            fs.write(v, "/d/e/g", 20_000 + r as u64, &g).map(drop)
        });
        match round {
            1 => {
                step(fs, states, "truncate", |fs| {
                    fs.truncate(v, "/d/f", 5000 + u64::from(v))
                });
                step(fs, states, "rename", |fs| {
                    fs.rename(v, "/empty", "/d/e/renamed")
                });
            }
            2 => {
                step(fs, states, "unlink", |fs| fs.unlink(v, "/d/e/renamed"));
                step(fs, states, "create", |fs| fs.create(v, "/d/new", 0o600));
            }
            _ => {}
        }
    }
}

fn base_image(disk: MemDisk, layout: Layout, states: Vec<State>) -> BaseImage {
    let mut fs = Fs::mount(disk.clone()).expect("the base image mounts");
    let state = dump(&mut fs, &VNODES).expect("the base image reads back");
    assert!(
        states.contains(&state),
        "the base image mounts as a state of its history"
    );
    let hot = disk
        .bytes()
        .chunks(BLOCK_SIZE)
        .enumerate()
        .filter(|(i, b)| *i == 0 || b.iter().any(|&x| x != 0))
        .map(|(i, _)| i as u64)
        .collect();
    BaseImage {
        disk,
        layout,
        states,
        hot,
    }
}

fn base_images() -> &'static [BaseImage] {
    static IMAGES: OnceLock<Vec<BaseImage>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let empty = State::new();
        let mut images = Vec::new();

        // 0: only checkpoints (the journal's blocks belong to an older generation).
        let mut states = vec![empty.clone()];
        let mut fs = Fs::format(MemDisk::new(IMAGE_BLOCKS), image_opts()).expect("format");
        for round in 0..3 {
            populate(&mut fs, &mut states, round);
            step(&mut fs, &mut states, "sync", |fs| fs.sync());
        }
        let dev = fs.unmount().expect("unmount");
        let fs = Fs::mount(dev).expect("mount");
        let layout = fs.layout();
        let dev = fs.unmount().expect("unmount");
        images.push(base_image(dev, layout, states));

        // 1: a checkpoint in each slot, committed transactions of the newer generation over
        // stale ones of the older, and written but uncommitted data blocks.
        let mut states = vec![empty.clone()];
        let mut fs = Fs::format(MemDisk::new(IMAGE_BLOCKS), image_opts()).expect("format");
        populate(&mut fs, &mut states, 0);
        step(&mut fs, &mut states, "sync", |fs| fs.sync());
        let mut fs = Fs::mount(fs.unmount().expect("unmount")).expect("mount");
        for round in 1..3 {
            populate(&mut fs, &mut states, round);
            step(&mut fs, &mut states, "sync", |fs| fs.sync());
        }
        populate(&mut fs, &mut states, 3);
        let layout = fs.layout();
        images.push(base_image(fs.into_device(), layout, states));

        // 2: power lost during the flush of a multi-block transaction: any of its journal and
        // data blocks may have made it, whole or torn.
        let disk = CrashDisk::new(MemDisk::new(IMAGE_BLOCKS));
        let mut states = vec![empty.clone()];
        let mut fs = Fs::format(disk.clone(), image_opts()).expect("format");
        populate(&mut fs, &mut states, 0);
        step(&mut fs, &mut states, "sync", |fs| fs.sync());
        populate(&mut fs, &mut states, 1);
        for v in VNODES {
            for i in 0..12 {
                let p = format!("/d/{}{i:02}", "long-name-".repeat(14));
                step(&mut fs, &mut states, "create", |fs| fs.create(v, &p, 0o644));
            }
        }
        let layout = fs.layout();
        disk.fail_at_flush(0);
        fs.sync()
            .expect_err("the commit fails when the device dies at its flush");
        let durable = disk.durable();
        let img = (0..64)
            .map(|seed| disk.crash(seed))
            .find(|img| *img != durable && Fs::mount(img.clone()).is_ok())
            .expect("a crash image with some of the transaction on it");
        images.push(base_image(img, layout, states));

        // 3: power lost right after a commit's flush: its confirm block never made it, so
        // recovery must check the transaction's data.
        let disk = CrashDisk::new(MemDisk::new(IMAGE_BLOCKS));
        let mut states = vec![empty];
        let mut fs = Fs::format(disk.clone(), image_opts()).expect("format");
        for round in 0..2 {
            populate(&mut fs, &mut states, round);
            step(&mut fs, &mut states, "sync", |fs| fs.sync());
        }
        let layout = fs.layout();
        images.push(base_image(disk.durable(), layout, states));
        images
    })
}

/// CRC-32 (IEEE), as the on-disk format uses.
fn crc32(data: &[u8]) -> u32 {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    !data
        .iter()
        .fold(!0u32, |c, &b| table[usize::from((c as u8) ^ b)] ^ (c >> 8))
}

/// Sets the CRC-32 at `at` of a metadata block (computed with that field zeroed).
fn fix_block_crc(block: &mut [u8], at: usize) {
    block[at..at + 4].fill(0);
    let c = crc32(block);
    block[at..at + 4].copy_from_slice(&c.to_le_bytes());
}

/// Which checksums [`fix_crcs`] recomputes.
const FIX_SUPER: u8 = 1;
const FIX_CKPT: u8 = 2;
const FIX_JOURNAL: u8 = 4;

/// Recomputes the checksums of the blocks that still carry their magic number (journal
/// transaction and confirm blocks alike), so mutations reach the decoders behind them. Mirrors the on-disk format documented in lego-fs
/// (`superblock.rs`, `checkpoint.rs`, `journal.rs`); if that changes, this merely stops
/// helping.
fn fix_crcs(img: &mut [u8], layout: &Layout, which: u8) {
    let bs = BLOCK_SIZE;
    if which & FIX_SUPER != 0 && img[..8] == *b"LEGOFS\0\x01" {
        fix_block_crc(&mut img[..bs], 48);
    }
    if which & FIX_CKPT != 0 {
        for slot in &layout.checkpoint {
            let start = slot.start as usize * bs;
            let payload_at = start + 2 * bs;
            let capacity = (slot.end - slot.start).saturating_sub(2) as usize * bs;
            for copy in 0..2 {
                let h = start + copy * bs;
                if img[h..h + 8] != *b"LGCKPT01" {
                    continue;
                }
                let len = le_u64(img, h + 16);
                if len <= capacity as u64 {
                    let c = crc32(&img[payload_at..payload_at + len as usize]);
                    img[h + 24..h + 28].copy_from_slice(&c.to_le_bytes());
                }
                fix_block_crc(&mut img[h..h + bs], 48);
            }
        }
    }
    if which & FIX_JOURNAL != 0 {
        for b in layout.log.clone() {
            let at = b as usize * bs;
            if img[at..at + 4] == *b"LGJL" || img[at..at + 4] == *b"LGJC" {
                fix_block_crc(&mut img[at..at + bs], 40);
            }
        }
    }
}

/// Applies up to eight mutations chosen by the input to the image.
fn mutate(inp: &mut Input, img: &mut [u8], hot: &[u64]) {
    let nblocks = img.len() / BLOCK_SIZE;
    let pick = |inp: &mut Input| -> usize {
        let b = inp.u8();
        if b < 192 && !hot.is_empty() {
            hot[usize::from(b) % hot.len()] as usize
        } else {
            usize::from(inp.u16()) % nblocks
        }
    };
    let count = 1 + inp.below(8);
    for _ in 0..count {
        if inp.is_empty() {
            break;
        }
        let what = inp.u8();
        let block = pick(inp) * BLOCK_SIZE;
        // Headers live in the first 64 bytes of their block.
        let within = if what & 0x80 != 0 {
            inp.below(64)
        } else {
            usize::from(inp.u16()) % BLOCK_SIZE
        };
        let at = block + within;
        match what % 8 {
            0 | 1 => img[at] = inp.u8(),
            2 => img[at] ^= 1 << (inp.u8() % 8),
            3 => img[at] = img[at].wrapping_add(inp.u8() % 8).wrapping_sub(4),
            4 => {
                // A u64 field: boundary values or a nudge of the current one.
                let at = block + (within & !7).min(BLOCK_SIZE - 8);
                let cur = le_u64(img, at);
                let v = match inp.u8() % 8 {
                    0 => 0,
                    1 => 1,
                    2 => u64::MAX,
                    3 => u64::from(u32::MAX),
                    4 => 1 << 52,
                    5 => cur.wrapping_add(u64::from(inp.u8() % 8)).wrapping_sub(4),
                    _ => inp.u64(),
                };
                img[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            5 => {
                // A u16 or u32 length field anywhere (record paths, checksum counts).
                let at = at.min(img.len() - 4);
                if inp.flip() {
                    let cur = u16::from_le_bytes([img[at], img[at + 1]]);
                    let v = match inp.u8() % 4 {
                        0 => u16::MAX,
                        1 => 4097,
                        _ => cur.wrapping_add(u16::from(inp.u8() % 8)).wrapping_sub(4),
                    };
                    img[at..at + 2].copy_from_slice(&v.to_le_bytes());
                } else {
                    let cur = le_u32(img, at);
                    let v = match inp.u8() % 4 {
                        0 => u32::MAX,
                        1 => 1 << 20,
                        _ => cur.wrapping_add(u32::from(inp.u8() % 8)).wrapping_sub(4),
                    };
                    img[at..at + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
            6 => {
                // A valid block in the wrong place (stale headers, journal blocks, data).
                let src = pick(inp) * BLOCK_SIZE;
                img.copy_within(src..src + BLOCK_SIZE, block);
            }
            _ => {
                let fill = if inp.flip() { 0 } else { inp.u8() };
                img[block..block + BLOCK_SIZE].fill(fill);
            }
        }
    }
}

/// Mounting damaged images; see the module docs.
pub fn image_mount(data: &[u8]) {
    let images = base_images();
    let mut inp = Input::new(data);
    let sel = inp.u8();
    let base = &images[usize::from(sel) % images.len()];
    let fix = match sel / 4 % 4 {
        0 => 0,
        1 => FIX_SUPER | FIX_CKPT | FIX_JOURNAL,
        2 => FIX_CKPT | FIX_JOURNAL,
        _ => FIX_JOURNAL,
    };
    let mut disk = base.disk.clone();
    mutate(&mut inp, disk.bytes_mut(), &base.hot);
    if fix != 0 {
        fix_crcs(disk.bytes_mut(), &base.layout, fix);
    }
    let unchanged = disk == base.disk;

    let mut fs = match Fs::mount(disk) {
        Ok(fs) => fs,
        Err(e) => {
            assert!(!unchanged, "the undamaged base image failed to mount: {e}");
            assert!(
                matches!(e, FsError::Corrupted(_)),
                "a damaged image failed to mount with {e:?}, not as corruption"
            );
            return;
        }
    };
    let first = dump(&mut fs, &VNODES);
    match &first {
        Ok(state) if fix == 0 || unchanged => assert!(
            base.states.contains(state),
            "damage was served: the mounted state is no state of the image's history \
             (fix-ups {fix:#x}):\n{state:?}"
        ),
        Ok(_) => {}
        Err(e) => assert!(
            matches!(e, FsError::Corrupted(_)) && !unchanged,
            "reading a mounted image failed with {e:?}"
        ),
    }

    // Use it: every call may fail (damage, a full disk), none may panic.
    let v = VNODES[inp.below(VNODES.len())];
    let off = u64::from(inp.u16()) * u64::from(inp.u8() % 4 + 1);
    let len = usize::from(inp.u16() % 12_000);
    let body = pattern(inp.u8(), len);
    let _ = fs.create(v, "/fuzz-new", 0o644);
    let _ = fs.write(v, "/fuzz-new", off, &body);
    let _ = fs.write(v, "/a", off / 2, &body[..len / 2]);
    let _ = fs.write(v, "/d/f", 4000, b"overwrite across a block boundary");
    let _ = fs.truncate(v, "/d/e/g", off % 30_000);
    let _ = fs.mkdir(v, "/fuzz-dir", 0o755);
    let _ = fs.rename(v, "/d/f", "/fuzz-dir/f");
    let _ = fs.unlink(v, "/a");
    let _ = fs.rmdir(v, "/d/e");
    let _ = fs.fsync(v, "/fuzz-new");
    let _ = fs.readdir(v, "/d");
    let _ = fs.write(VNODES[0], "/d/new", 1, &body);
    let before = dump(&mut fs, &VNODES);
    if let Err(e) = &before {
        assert!(
            matches!(e, FsError::Corrupted(_)),
            "reading after writes failed with {e:?}"
        );
    }
    let dev = match fs.unmount() {
        Ok(dev) => dev,
        Err(e) => {
            assert!(
                matches!(e, FsError::Corrupted(_) | FsError::NoSpace),
                "unmount failed with {e:?}"
            );
            return;
        }
    };
    let mut fs = Fs::mount(dev).expect("an image that mounted and unmounted cleanly mounts again");
    let after = dump(&mut fs, &VNODES);
    if let Ok(before) = before {
        let after = after.expect("what read back before the remount reads back after it");
        assert!(
            before == after,
            "remount changed the state:\n{before:?}\n{after:?}"
        );
    }
}
