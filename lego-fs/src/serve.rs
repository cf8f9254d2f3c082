//! The storage monitor's request handler: one stateless file-protocol request
//! (`lego_proto::fs`) against a mounted [`Fs`], its reply written into a buffer. Kept here,
//! away from the guest, so it is tested and fuzzed on the host.

use lego_proto::fs::{
    self as proto, DIR_END, DirHeader, FsStat, FsStatFs, Request, errno, flags, kind, status_of,
};
use zerocopy::IntoBytes;

use crate::device::BlockDevice;
use crate::error::FsError;
use crate::fs::{Fs, StatFs};
use crate::inode::{FileKind, Stat};
use crate::reserve::Client;

/// The errno a filesystem error is reported as.
pub fn errno_of(e: &FsError) -> u32 {
    match e {
        FsError::NotAbsolute | FsError::DotComponent | FsError::EmptyComponent => errno::EINVAL,
        FsError::NameTooLong | FsError::PathTooLong => errno::ENAMETOOLONG,
        FsError::NotFound => errno::ENOENT,
        FsError::AlreadyExists => errno::EEXIST,
        FsError::NotADirectory => errno::ENOTDIR,
        FsError::IsADirectory => errno::EISDIR,
        FsError::DirectoryNotEmpty => errno::ENOTEMPTY,
        FsError::RenameIntoItself => errno::EINVAL,
        FsError::RootDirectory => errno::EBUSY,
        FsError::FileTooLarge => errno::EFBIG,
        FsError::NoSpace => errno::ENOSPC,
        FsError::InvalidGeometry => errno::EINVAL,
        FsError::MetadataTooLarge { .. } => errno::ENOMEM,
        FsError::TooManyClients => errno::EMFILE,
        FsError::Io(_) => errno::EIO,
        FsError::Corrupted(_) => errno::EUCLEAN,
    }
}

fn fail(e: FsError) -> u32 {
    status_of(errno_of(&e))
}

fn stat_reply(s: Stat, reply: &mut [u8]) -> Result<usize, u32> {
    let r = FsStat {
        kind: match s.kind {
            FileKind::File => kind::FILE,
            FileKind::Dir => kind::DIR,
        },
        mode: s.mode,
        size: s.size,
        version: s.version,
    };
    put(r.as_bytes(), reply)
}

fn put(bytes: &[u8], reply: &mut [u8]) -> Result<usize, u32> {
    let out = reply
        .get_mut(..bytes.len())
        .ok_or(status_of(errno::EINVAL))?;
    out.copy_from_slice(bytes);
    Ok(bytes.len())
}

fn statfs_reply<D: BlockDevice>(fs: &Fs<D>, s: StatFs, reply: &mut [u8]) -> Result<usize, u32> {
    let io = fs.io_time();
    let r = FsStatFs {
        dev_round_trips: io.round_trips,
        dev_wait_ns: io.wait_ns,
        block_size: u64::from(s.block_size),
        blocks: s.data_blocks,
        blocks_free: s.free_blocks,
        max_file_size: fs.max_file_size(),
        meta_used: s.metadata_bytes,
        meta_capacity: s.metadata_capacity,
    };
    put(r.as_bytes(), reply)
}

/// Serves one request of opcode `op` from no client in particular (a tool, a test): as
/// [`handle_client`], but it holds no reservation (`RESERVE` is `EINVAL`).
pub fn handle<D: BlockDevice>(
    fs: &mut Fs<D>,
    op: u32,
    req: &[u8],
    reply: &mut [u8],
) -> Result<usize, u32> {
    serve(fs, None, op, req, reply)
}

/// Serves one request of opcode `op` from `client` (the RPC peer and its incarnation, which
/// reservations are kept by): returns the reply's length, or a reply status
/// (`ERRNO_BASE + errno`). `reply` must hold at least `MAX_IO` bytes for reads.
pub fn handle_client<D: BlockDevice>(
    fs: &mut Fs<D>,
    client: Client,
    op: u32,
    req: &[u8],
    reply: &mut [u8],
) -> Result<usize, u32> {
    fs.client_seen(client);
    serve(fs, Some(client), op, req, reply)
}

fn serve<D: BlockDevice>(
    fs: &mut Fs<D>,
    client: Option<Client>,
    op: u32,
    req: &[u8],
    reply: &mut [u8],
) -> Result<usize, u32> {
    if !proto::is_fs_op(op) {
        return Err(lego_proto::rpc::status::UNKNOWN_OPCODE);
    }
    let r = Request::decode(op, req).map_err(|e| status_of(e.errno()))?;
    let (v, path) = (r.head.vnode, r.path);
    match op {
        proto::STAT => stat_reply(fs.stat(v, path).map_err(fail)?, reply),
        proto::OPEN => {
            let f = r.head.flags;
            let created = match fs.stat(v, path) {
                Ok(s) if s.kind == FileKind::Dir => return Err(status_of(errno::EISDIR)),
                Ok(_) if f & flags::CREATE != 0 && f & flags::EXCL != 0 => {
                    return Err(status_of(errno::EEXIST));
                }
                Ok(_) => false,
                Err(FsError::NotFound) if f & flags::CREATE != 0 => {
                    fs.create(v, path, r.head.mode).map_err(fail)?;
                    true
                }
                Err(e) => return Err(fail(e)),
            };
            if f & flags::TRUNC != 0 && !created {
                fs.truncate(v, path, 0).map_err(fail)?;
            }
            stat_reply(fs.stat(v, path).map_err(fail)?, reply)
        }
        proto::MKDIR => fs.mkdir(v, path, r.head.mode).map(|()| 0).map_err(fail),
        proto::READ => {
            let n = r.head.len as usize;
            let out = reply.get_mut(..n).ok_or(status_of(errno::EINVAL))?;
            fs.read(v, path, r.head.offset, out).map_err(fail)
        }
        proto::WRITE => {
            let n = fs
                .write_as(client.map(|c| c.id), v, path, r.head.offset, r.data)
                .map_err(fail)?;
            if r.head.flags & flags::SYNC != 0 {
                fs.fsync(v, path).map_err(fail)?;
            }
            put(&(n as u32).to_le_bytes(), reply)
        }
        proto::TRUNCATE => fs
            .truncate(v, path, r.head.offset)
            .map(|()| 0)
            .map_err(fail),
        proto::UNLINK => fs.unlink(v, path).map(|()| 0).map_err(fail),
        proto::RMDIR => fs.rmdir(v, path).map(|()| 0).map_err(fail),
        proto::RENAME => fs.rename(v, path, r.path2).map(|()| 0).map_err(fail),
        proto::FSYNC => fs.fsync(v, path).map(|()| 0).map_err(fail),
        proto::STATFS => statfs_reply(fs, fs.statfs(), reply),
        proto::READDIR => readdir(fs, v, path, r.head.offset, reply),
        // Nothing is cached here beyond what the filesystem must hold: make it durable.
        proto::DROP_CACHES => fs.sync().map(|()| 0).map_err(fail),
        // Timed at a buffer cache, which is not here.
        proto::BENCH => Err(status_of(errno::ENOTSUP)),
        proto::RESERVE => {
            let c = client.ok_or(status_of(errno::EINVAL))?;
            let s = fs.reserve_space(c, r.head.offset).map_err(fail)?;
            statfs_reply(fs, s, reply)
        }
        _ => Err(lego_proto::rpc::status::UNKNOWN_OPCODE),
    }
}

/// Lists from entry `from` as many entries as fit in `reply` (straight from the directory's
/// index: nothing is allocated, however large the directory).
fn readdir<D: BlockDevice>(
    fs: &mut Fs<D>,
    vnode: u32,
    path: &str,
    from: u64,
    reply: &mut [u8],
) -> Result<usize, u32> {
    let head = core::mem::size_of::<DirHeader>();
    if reply.len() < head {
        return Err(status_of(errno::EINVAL));
    }
    let mut at = head;
    let mut count = 0u32;
    let stopped = fs
        .readdir_from(vnode, path, from, |name, k| {
            let k = match k {
                FileKind::File => kind::FILE,
                FileKind::Dir => kind::DIR,
            };
            let fits = proto::push_entry(reply, &mut at, k, name);
            count += u32::from(fits);
            fits
        })
        .map_err(fail)?;
    let h = DirHeader {
        count,
        _pad: 0,
        next: stopped.unwrap_or(DIR_END),
    };
    reply[..head].copy_from_slice(h.as_bytes());
    Ok(at)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::String;
    use std::vec;
    use std::vec::Vec;

    use lego_proto::fs::{FsRequest, MAX_IO, errno_of as status_errno, parse_dir};
    use proptest::prelude::*;
    use zerocopy::FromBytes;

    use super::*;
    use crate::FormatOptions;
    use crate::testdev::{CrashDisk, MemDisk};

    fn fs() -> Fs<MemDisk> {
        Fs::format(
            MemDisk::new(2048),
            FormatOptions {
                max_file_size: 1 << 20,
                ..FormatOptions::default()
            },
        )
        .expect("format")
    }

    // Every field of a request, spelled out at each call: clearer in a test than a builder.
    #[allow(clippy::too_many_arguments)]
    fn call<D: BlockDevice>(
        fs: &mut Fs<D>,
        op: u32,
        vnode: u32,
        path: &str,
        path2: &str,
        offset: u64,
        len: u32,
        fl: u32,
        data: &[u8],
    ) -> Result<Vec<u8>, u32> {
        let r = Request {
            head: FsRequest {
                vnode,
                flags: fl,
                mode: 0o644,
                offset,
                len,
                ..Default::default()
            },
            path,
            path2,
            data,
        };
        let mut buf = vec![0u8; r.encoded_len()];
        let n = r.encode(&mut buf).expect("encode");
        let mut reply = vec![0u8; 64 << 10];
        let m = handle(fs, op, &buf[..n], &mut reply)?;
        reply.truncate(m);
        Ok(reply)
    }

    fn errno(r: Result<Vec<u8>, u32>) -> u32 {
        status_errno(r.expect_err("an error")).expect("an errno status")
    }

    /// WRITE with SYNC is a write and an fsync in one request: one flush, and the data is
    /// durable when it returns; without SYNC nothing is flushed.
    #[test]
    fn write_with_sync_is_durable_at_once() {
        let disk = CrashDisk::new(MemDisk::new(256));
        let mut f = Fs::format(disk.clone(), FormatOptions::default()).expect("format");
        call(&mut f, proto::OPEN, 1, "/a", "", 0, 0, flags::CREATE, b"").expect("create");
        f.sync().expect("sync");
        let flushes = disk.flushes();
        call(&mut f, proto::WRITE, 1, "/a", "", 0, 3, 0, b"one").expect("write");
        assert_eq!(disk.flushes(), flushes, "a plain write flushes nothing");
        call(&mut f, proto::WRITE, 1, "/a", "", 3, 3, flags::SYNC, b"two").expect("write");
        assert_eq!(disk.flushes(), flushes + 1, "one flush for write and fsync");
        for seed in 0..8 {
            let mut back = Fs::mount(disk.crash(seed)).expect("mount");
            let r = call(&mut back, proto::READ, 1, "/a", "", 0, 16, 0, b"").expect("read");
            assert_eq!(r, b"onetwo");
        }
    }

    #[test]
    fn open_write_read_stat() {
        let mut f = fs();
        let st = call(&mut f, proto::OPEN, 1, "/a", "", 0, 0, flags::CREATE, b"").expect("open");
        assert_eq!(FsStat::read_from_bytes(&st).expect("stat").size, 0);
        let w = call(&mut f, proto::WRITE, 1, "/a", "", 10, 0, 0, b"hello").expect("write");
        assert_eq!(w, 5u32.to_le_bytes());
        let r = call(&mut f, proto::READ, 1, "/a", "", 8, 100, 0, b"").expect("read");
        assert_eq!(r, b"\0\0hello");
        let s = call(&mut f, proto::STAT, 1, "/a", "", 0, 0, 0, b"").expect("stat");
        let s = FsStat::read_from_bytes(&s).expect("stat");
        assert_eq!((s.kind, s.size), (kind::FILE, 15));
        // O_TRUNC empties it; O_EXCL refuses it; another vNode does not see it.
        call(&mut f, proto::OPEN, 1, "/a", "", 0, 0, flags::TRUNC, b"").expect("trunc");
        let s = call(&mut f, proto::STAT, 1, "/a", "", 0, 0, 0, b"").expect("stat");
        assert_eq!(FsStat::read_from_bytes(&s).expect("stat").size, 0);
        let excl = flags::CREATE | flags::EXCL;
        assert_eq!(
            errno(call(&mut f, proto::OPEN, 1, "/a", "", 0, 0, excl, b"")),
            errno::EEXIST
        );
        assert_eq!(
            errno(call(&mut f, proto::STAT, 2, "/a", "", 0, 0, 0, b"")),
            errno::ENOENT
        );
        call(&mut f, proto::FSYNC, 1, "/a", "", 0, 0, 0, b"").expect("fsync");
    }

    #[test]
    fn bad_paths_and_limits_are_errnos() {
        let mut f = fs();
        call(&mut f, proto::MKDIR, 1, "/d", "", 0, 0, 0, b"").expect("mkdir");
        for p in ["/d/../x", "//x", "/d/", "x", "/d/./x"] {
            assert_eq!(
                errno(call(
                    &mut f,
                    proto::OPEN,
                    1,
                    p,
                    "",
                    0,
                    0,
                    flags::CREATE,
                    b""
                )),
                errno::EINVAL,
                "{p}"
            );
        }
        let long = format!("/{}", "n".repeat(300));
        assert_eq!(
            errno(call(
                &mut f,
                proto::OPEN,
                1,
                &long,
                "",
                0,
                0,
                flags::CREATE,
                b""
            )),
            errno::ENAMETOOLONG
        );
        call(&mut f, proto::OPEN, 1, "/d/f", "", 0, 0, flags::CREATE, b"").expect("create");
        assert_eq!(
            errno(call(
                &mut f,
                proto::WRITE,
                1,
                "/d/f",
                "",
                1 << 20,
                0,
                0,
                b"x"
            )),
            errno::EFBIG
        );
        assert_eq!(
            errno(call(&mut f, proto::RMDIR, 1, "/d", "", 0, 0, 0, b"")),
            errno::ENOTEMPTY
        );
        assert_eq!(
            errno(call(&mut f, proto::OPEN, 1, "/d", "", 0, 0, 0, b"")),
            errno::EISDIR
        );
        assert_eq!(
            errno(call(
                &mut f,
                proto::READ,
                1,
                "/d/f",
                "",
                0,
                MAX_IO as u32 + 1,
                0,
                b""
            )),
            errno::EINVAL
        );
        assert_eq!(
            handle(&mut f, 99, b"", &mut [0u8; 16]),
            Err(lego_proto::rpc::status::UNKNOWN_OPCODE)
        );
    }

    #[test]
    fn a_full_disk_is_enospc_and_loses_nothing() {
        let mut f = fs();
        let chunk = vec![7u8; MAX_IO];
        let mut written = Vec::new();
        let e = 'fill: loop {
            let p = format!("/f{}", written.len());
            call(&mut f, proto::OPEN, 1, &p, "", 0, 0, flags::CREATE, b"").expect("create");
            let mut off = 0u64;
            while off < 1 << 20 {
                match call(&mut f, proto::WRITE, 1, &p, "", off, 0, 0, &chunk) {
                    Ok(_) => off += MAX_IO as u64,
                    Err(e) => break 'fill e,
                }
            }
            call(&mut f, proto::FSYNC, 1, &p, "", 0, 0, 0, b"").expect("fsync");
            written.push(p);
        };
        assert_eq!(status_errno(e), Some(errno::ENOSPC));
        assert!(!written.is_empty());
        // What was written reads back, also after a remount.
        f.sync().expect("sync");
        let mut f = Fs::mount(f.into_device()).expect("mount");
        for p in &written {
            let r = call(&mut f, proto::READ, 1, p, "", 1 << 19, 4096, 0, b"").expect("read");
            assert!(r.len() == 4096 && r.iter().all(|&b| b == 7), "{p}");
        }
    }

    #[test]
    fn rename_unlink_and_listing() {
        let mut f = fs();
        call(&mut f, proto::MKDIR, 3, "/d", "", 0, 0, 0, b"").expect("mkdir");
        let mut names = Vec::new();
        for i in 0..200 {
            let p = format!("/d/file-with-a-longish-name-{i:04}");
            call(&mut f, proto::OPEN, 3, &p, "", 0, 0, flags::CREATE, b"").expect("create");
            names.push(String::from(&p[3..]));
        }
        // Page through the listing with a small reply buffer.
        let mut got = Vec::new();
        let mut from = 0;
        loop {
            let r = Request {
                head: FsRequest {
                    vnode: 3,
                    offset: from,
                    ..Default::default()
                },
                path: "/d",
                path2: "",
                data: b"",
            };
            let mut buf = vec![0u8; r.encoded_len()];
            let n = r.encode(&mut buf).expect("encode");
            let mut reply = vec![0u8; 1000];
            let m = handle(&mut f, proto::READDIR, &buf[..n], &mut reply).expect("readdir");
            let (h, entries) = parse_dir(&reply[..m]).expect("valid listing");
            got.extend(entries.map(|e| String::from(e.name)));
            if h.next == DIR_END {
                break;
            }
            from = h.next;
        }
        assert_eq!(got, names);
        call(
            &mut f,
            proto::RENAME,
            3,
            "/d/file-with-a-longish-name-0000",
            "/moved",
            0,
            0,
            0,
            b"",
        )
        .expect("rename");
        call(&mut f, proto::UNLINK, 3, "/moved", "", 0, 0, 0, b"").expect("unlink");
        assert_eq!(
            errno(call(&mut f, proto::STAT, 3, "/moved", "", 0, 0, 0, b"")),
            errno::ENOENT
        );
    }

    proptest! {
        /// Arbitrary bytes as any request: an error or a reply, never a panic, and the
        /// filesystem still mounts afterwards.
        #[test]
        fn arbitrary_requests_never_panic(reqs in proptest::collection::vec((proto::OP_BASE..=proto::OP_LAST + 1, proptest::collection::vec(any::<u8>(), 0..96)), 1..20)) {
            let mut f = fs();
            let mut reply = vec![0u8; 64 << 10];
            for (op, bytes) in &reqs {
                let _ = handle(&mut f, *op, bytes, &mut reply);
            }
            f.sync().expect("sync");
            let dev = f.into_device();
            prop_assert!(Fs::mount(dev).is_ok());
        }
    }
}
