//! File syscalls: paths resolved here (the working directory, `*at` directory descriptors),
//! files reached through the vNode's buffer-cache mComponent with the stateless file protocol
//! (each request names the vNode and the whole path), and the few devices a program expects.

extern crate alloc;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use guest_rt::rpc::{Rpc, RpcError};
use lego_linux::abi::dirent::DirentWriter;
use lego_linux::abi::fcntl as f;
use lego_linux::abi::stat::{
    S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, STATX_RESERVED, Stat, Statx,
};
use lego_linux::abi::tty::{Termios, Winsize};
use lego_linux::errno::{self as e, Errno};
use lego_linux::sysno as nr;
use lego_proto::fs::{
    self as fsp, DIR_END, FsRequest, FsStat, Request, flags as fsflags, kind, parse_dir,
};
use lego_proto::proc::start_flags;
use zerocopy::FromBytes;

use super::{copy_out, err, read_cstr, read_val, status_err, write_val};
use crate::fd::{Open, Target};
use crate::pipe::PipeEnd;
use crate::process::Process;
use crate::procfs::{self, Node};

/// One file-protocol request to the vNode's buffer cache; returns the reply's length.
#[allow(clippy::too_many_arguments)]
pub fn fs_req(
    p: &mut Process,
    rpc: &mut Rpc,
    op: u32,
    path: &str,
    path2: &str,
    offset: u64,
    len: u32,
    flags: u32,
    mode: u32,
    data: &[u8],
    out: &mut [u8],
) -> Result<usize, i64> {
    let (vnode, storage, cache) = p.vnode;
    let r = Request {
        head: FsRequest {
            vnode,
            flags,
            mode,
            storage,
            offset,
            len,
            ..FsRequest::default()
        },
        path,
        path2,
        data,
    };
    let mut buf = vec![0u8; r.encoded_len()];
    let n = r.encode(&mut buf).ok_or(err(e::ENAMETOOLONG))?;
    match rpc.call(cache, op, &buf[..n], out) {
        Ok(n) => Ok(n),
        Err(RpcError::Remote(s)) => Err(status_err(s)),
        Err(_) => Err(err(e::EIO)),
    }
}

/// `STAT` of a vNode path.
pub fn stat_path(p: &mut Process, rpc: &mut Rpc, path: &str) -> Result<FsStat, i64> {
    let mut out = [0u8; 64];
    let n = fs_req(p, rpc, fsp::STAT, path, "", 0, 0, 0, 0, &[], &mut out)?;
    FsStat::read_from_bytes(&out[..n.min(out.len())]).map_err(|_| err(e::EIO))
}

/// A canonical absolute path: `path` taken relative to `base`, `.` and `..` resolved.
pub fn normalize(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        [path, ""]
    } else {
        [base, path]
    };
    for piece in joined {
        for c in piece.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
    }
    if parts.is_empty() {
        return String::from("/");
    }
    let mut s = String::new();
    for c in parts {
        s.push('/');
        s.push_str(c);
    }
    s
}

/// The absolute path of `path` as `*at(dirfd, path)` means it.
pub(crate) fn resolve(p: &mut Process, rpc: &mut Rpc, dirfd: i32, va: u64) -> Result<String, i64> {
    let raw = read_cstr(p, rpc, va, fsp::MAX_PATH).map_err(err)?;
    if raw.is_empty() {
        return Err(err(e::ENOENT));
    }
    let path = core::str::from_utf8(&raw).map_err(|_| err(e::EINVAL))?;
    let base = if path.starts_with('/') || dirfd == f::AT_FDCWD {
        p.cwd.clone()
    } else {
        match p.fds.target(dirfd) {
            Some(Target::Dir { path: d, .. }) => d,
            Some(_) => return Err(err(e::ENOTDIR)),
            None => return Err(err(e::EBADF)),
        }
    };
    // Linux walks the path: what comes before a `.` or `..` must be a directory that exists
    // (`missing/..` is ENOENT, `file/.` ENOTDIR), and a trailing `/` names a directory.
    // Normalizing alone would hide both; the checks cost a lookup only for such paths.
    let comps: Vec<&str> = path.split('/').collect();
    for (i, c) in comps.iter().enumerate() {
        if (*c == ".." || *c == ".") && i > 0 {
            let before = comps[..i].join("/");
            if !before.is_empty() && before != "." {
                must_be_dir(p, rpc, &normalize(&base, &before))?;
            }
        }
    }
    let full = normalize(&base, path);
    if path.ends_with('/') && full != "/" {
        match must_be_dir(p, rpc, &full) {
            Err(x) if x == err(e::ENOTDIR) => return Err(x),
            _ => {}
        }
    }
    Ok(full)
}

/// `Ok` if `path` is a directory; `ENOTDIR` if it is something else; its lookup's error if
/// it is not there.
fn must_be_dir(p: &mut Process, rpc: &mut Rpc, path: &str) -> Result<(), i64> {
    let st = stat_link(p, rpc, path, true)?;
    if st.st_mode & 0o170000 == S_IFDIR {
        Ok(())
    } else {
        Err(err(e::ENOTDIR))
    }
}

/// Whether `path` is one of the devices (not a file of the vNode).
pub(crate) fn is_device(path: &str) -> bool {
    device(path).is_some()
}

/// The devices under `/dev` a program may open.
fn device(path: &str) -> Option<Target> {
    match path {
        "/dev/null" => Some(Target::Null),
        "/dev/zero" => Some(Target::Zero),
        "/dev/urandom" | "/dev/random" => Some(Target::Random),
        "/dev/full" => Some(Target::Full),
        "/dev/stdin" => Some(Target::Stdin),
        "/dev/stdout" => Some(Target::Output(1)),
        "/dev/stderr" => Some(Target::Output(2)),
        _ => None,
    }
}

fn stat_of(target: &Target, fs: Option<FsStat>, ino: u64) -> Stat {
    let mut st = Stat {
        st_dev: 0x4c45,
        st_ino: ino,
        st_nlink: 1,
        st_blksize: 4096,
        ..Stat::default()
    };
    match (target, fs) {
        (_, Some(s)) => {
            let dir = s.kind == kind::DIR;
            st.st_mode = (if dir { S_IFDIR } else { S_IFREG }) | (s.mode & 0o7777);
            if st.st_mode & 0o777 == 0 {
                st.st_mode |= if dir { 0o755 } else { 0o644 };
            }
            st.st_size = s.size as i64;
            st.st_blocks = s.size.div_ceil(512) as i64;
            st.st_nlink = if dir { 2 } else { 1 };
            st.st_mtime = (s.version / 1_000_000_000) as i64;
        }
        (Target::Null, _) => {
            st.st_mode = S_IFCHR | 0o666;
            st.st_rdev = (1 << 8) | 3;
        }
        (Target::Zero, _) => {
            st.st_mode = S_IFCHR | 0o666;
            st.st_rdev = (1 << 8) | 5;
        }
        (Target::Random, _) => {
            st.st_mode = S_IFCHR | 0o666;
            st.st_rdev = (1 << 8) | 9;
        }
        (Target::Full, _) => {
            st.st_mode = S_IFCHR | 0o666;
            st.st_rdev = (1 << 8) | 7;
        }
        (Target::Event(_), _) => {
            // An anonymous inode: permissions and no file type, as Linux shows it.
            st.st_mode = 0o600;
            st.st_dev = 0x0e;
        }
        (Target::Pseudo(_), _) => {
            st.st_mode = S_IFREG | 0o444;
            st.st_dev = 0x16;
        }
        (Target::Pipe(_), _) => {
            st.st_mode = S_IFIFO | 0o600;
            st.st_dev = 0x0e;
            st.st_blksize = 4096;
        }
        _ => {
            // The user's terminal or a pipe: a character device, as a pty looks.
            st.st_mode = S_IFCHR | 0o620;
            st.st_rdev = 136 << 8;
        }
    }
    st
}

fn hash(path: &str) -> u64 {
    path.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) | 1
}

fn is_tty(p: &Process, t: &Target) -> bool {
    match t {
        Target::Stdin => p.flags & start_flags::STDIN_TTY != 0,
        Target::Output(1) => p.flags & start_flags::STDOUT_TTY != 0,
        Target::Output(_) => p.flags & start_flags::STDERR_TTY != 0,
        _ => false,
    }
}

fn open(p: &mut Process, rpc: &mut Rpc, path: String, flags: u32, mode: u32) -> i64 {
    // 64-bit kernels open everything large-file (`F_GETFL` shows it); the flags that only
    // matter at open time are not kept.
    let flags = flags | f::O_LARGEFILE;
    if let Some(t) = device(&path) {
        return match p
            .fds
            .insert_cloexec(Open::new(t, flags), flags & f::O_CLOEXEC != 0)
        {
            Some(fd) => i64::from(fd),
            None => err(e::EMFILE),
        };
    }
    if procfs::is_pseudo(&path) {
        let target = match procfs::lookup(p, &path, true) {
            Err(x) => return err(x),
            // `/proc/self/exe`, `fd/N`, `cwd`: the file they name, opened anew.
            Ok(Node::Link(t)) if t.starts_with('/') && !procfs::is_pseudo(&t) => {
                return open(p, rpc, t, flags & !f::O_CREAT, mode);
            }
            Ok(Node::Link(_)) => return err(e::ENOENT),
            Ok(_) if flags & f::O_ACCMODE != f::O_RDONLY || flags & f::O_CREAT != 0 => {
                return err(e::EACCES);
            }
            Ok(Node::File(d)) => Target::Pseudo(alloc::sync::Arc::new(d)),
            Ok(Node::Dir(_)) => Target::Dir { path, next: 0 },
        };
        return match p
            .fds
            .insert_cloexec(Open::new(target, flags), flags & f::O_CLOEXEC != 0)
        {
            Some(fd) => i64::from(fd),
            None => err(e::EMFILE),
        };
    }
    if path.starts_with("/dev/") {
        return err(e::ENOENT);
    }
    let acc = flags & f::O_ACCMODE;
    let mut ff = 0;
    if flags & f::O_CREAT != 0 {
        ff |= fsflags::CREATE;
    }
    if flags & f::O_EXCL != 0 {
        ff |= fsflags::EXCL;
    }
    if flags & f::O_TRUNC != 0 {
        ff |= fsflags::TRUNC;
    }
    let st = if path == "/" {
        stat_path(p, rpc, &path)
    } else {
        let mut out = [0u8; 64];
        let r = fs_req(
            p,
            rpc,
            fsp::OPEN,
            &path,
            "",
            0,
            0,
            ff,
            mode & 0o7777 & !p.umask,
            &[],
            &mut out,
        );
        match r {
            Ok(n) => FsStat::read_from_bytes(&out[..n.min(64)]).map_err(|_| err(e::EIO)),
            // The storage opens files only: a directory is opened here.
            // (Unless it asked to write or truncate: a directory cannot be.)
            Err(x)
                if x == err(e::EISDIR)
                    && ff & (fsflags::EXCL | fsflags::TRUNC) == 0
                    && acc == f::O_RDONLY =>
            {
                stat_path(p, rpc, &path)
            }
            Err(x) => Err(x),
        }
    };
    let st = match st {
        Ok(s) => s,
        Err(x) => return x,
    };
    let target = if st.kind == kind::DIR {
        if acc != f::O_RDONLY {
            return err(e::EISDIR);
        }
        Target::Dir { path, next: 0 }
    } else {
        if flags & f::O_DIRECTORY != 0 {
            return err(e::ENOTDIR);
        }
        Target::File(path)
    };
    match p
        .fds
        .insert_cloexec(Open::new(target, flags), flags & f::O_CLOEXEC != 0)
    {
        Some(fd) => i64::from(fd),
        None => err(e::EMFILE),
    }
}

fn getdents(p: &mut Process, rpc: &mut Rpc, fd: i32, buf: u64, len: u64) -> i64 {
    let (path, mut next) = match p.fds.target(fd) {
        Some(Target::Dir { path, next }) => (path, next),
        Some(_) => return err(e::ENOTDIR),
        None => return err(e::EBADF),
    };
    let mut out = vec![0u8; (len as usize).min(64 << 10)];
    let mut w = DirentWriter::new(&mut out);
    // Cursor 0 is ".", 1 is "..", 2 + k the directory's entry k.
    while next < 2 {
        let name: &[u8] = if next == 0 { b"." } else { b".." };
        if w.push(next + 1, (next + 1) as i64, 4, name).is_err() {
            break;
        }
        next += 1;
    }
    if procfs::is_pseudo(&path) {
        // A /proc or /sys directory: its entries as they are now, from the cursor on.
        let entries = match procfs::lookup(p, &path, true) {
            Ok(Node::Dir(v)) => v,
            Ok(_) => return err(e::ENOTDIR),
            Err(x) => return err(x),
        };
        while next >= 2 && next != DIR_END {
            let Some((name, is_dir)) = entries.get((next - 2) as usize) else {
                next = DIR_END;
                break;
            };
            let full = normalize(&path, name);
            let t = if *is_dir { 4 } else { 8 };
            if w.push(hash(&full), (next + 1) as i64, t, name.as_bytes())
                .is_err()
            {
                break;
            }
            next += 1;
        }
    }
    let mut reply = vec![0u8; fsp::MAX_IO];
    'outer: while next >= 2 && next != DIR_END && !procfs::is_pseudo(&path) {
        let n = match fs_req(
            p,
            rpc,
            fsp::READDIR,
            &path,
            "",
            next - 2,
            0,
            0,
            0,
            &[],
            &mut reply,
        ) {
            Ok(n) => n,
            Err(x) => return x,
        };
        let Some((h, entries)) = parse_dir(&reply[..n]) else {
            return err(e::EIO);
        };
        for (i, ent) in (next..).zip(entries) {
            let t = if ent.kind == kind::DIR { 4 } else { 8 };
            let full = normalize(&path, ent.name);
            if w.push(hash(&full), (i + 1) as i64, t, ent.name.as_bytes())
                .is_err()
            {
                next = i;
                break 'outer;
            }
        }
        next = if h.next == DIR_END {
            DIR_END
        } else {
            h.next + 2
        };
    }
    let used = w.len();
    if used == 0 && next != DIR_END && len > 0 {
        return err(e::EINVAL);
    }
    if copy_out(p, rpc, buf, &out[..used]).is_err() {
        return err(e::EFAULT);
    }
    p.fds.update(fd, |o| o.target = Target::Dir { path, next });
    used as i64
}

fn stat_at(p: &mut Process, rpc: &mut Rpc, path: &str) -> Result<Stat, i64> {
    stat_link(p, rpc, path, true)
}

/// `stat` (`follow`) or `lstat` of `path`: /proc's links (`exe`, `cwd`, `fd/N`) are the only
/// symbolic links; followed, they lead to the file, device or directory they name.
fn stat_link(p: &mut Process, rpc: &mut Rpc, path: &str, follow: bool) -> Result<Stat, i64> {
    if procfs::is_pseudo(path) {
        let mut st = Stat {
            st_dev: 0x16,
            st_ino: hash(path),
            st_nlink: 1,
            st_blksize: 1024,
            ..Stat::default()
        };
        match procfs::lookup(p, path, follow).map_err(err)? {
            Node::File(_) => st.st_mode = S_IFREG | 0o444,
            Node::Dir(_) => {
                st.st_mode = S_IFDIR | 0o555;
                st.st_nlink = 2;
                // /proc/self and /proc/PID are the same directory.
                st.st_ino = hash(&procfs::canonical(p, path));
            }
            Node::Link(t) if follow && t.starts_with('/') && !procfs::is_pseudo(&t) => {
                return stat_at(p, rpc, &t);
            }
            Node::Link(_) if follow => return Err(err(e::ENOENT)),
            Node::Link(t) => {
                st.st_mode = S_IFLNK | 0o777;
                st.st_size = t.len() as i64;
            }
        }
        return Ok(st);
    }
    if let Some(t) = device(path) {
        return Ok(stat_of(&t, None, hash(path)));
    }
    if path == "/dev" {
        // The devices' directory (it has no listing here).
        return Ok(Stat {
            st_dev: 0x05,
            st_ino: hash(path),
            st_nlink: 2,
            st_mode: S_IFDIR | 0o755,
            st_blksize: 4096,
            ..Stat::default()
        });
    }
    let st = stat_path(p, rpc, path)?;
    Ok(stat_of(&Target::File(String::new()), Some(st), hash(path)))
}

fn fstat(p: &mut Process, rpc: &mut Rpc, fd: i32) -> Result<Stat, i64> {
    let t = p.fds.target(fd).ok_or(err(e::EBADF))?;
    match &t {
        Target::File(path) | Target::Dir { path, .. } => {
            let path = path.clone();
            stat_at(p, rpc, &path)
        }
        other => Ok(stat_of(other, None, 1000 + fd as u64)),
    }
}

/// What `*at` stat calls name: `path_va` under `dirfd`, or with `AT_EMPTY_PATH` and an
/// empty path the descriptor itself.
fn stat_fd_path(
    p: &mut Process,
    rpc: &mut Rpc,
    dirfd: i32,
    path_va: u64,
    flags: u32,
) -> Result<Result<Stat, i64>, i64> {
    let raw = read_cstr(p, rpc, path_va, fsp::MAX_PATH).map_err(err)?;
    Ok(if raw.is_empty() && flags & f::AT_EMPTY_PATH != 0 {
        if dirfd == f::AT_FDCWD {
            let cwd = p.cwd.clone();
            stat_at(p, rpc, &cwd)
        } else {
            fstat(p, rpc, dirfd)
        }
    } else {
        let path = resolve(p, rpc, dirfd, path_va)?;
        // AT_SYMLINK_NOFOLLOW: a link itself.
        stat_link(p, rpc, &path, flags & 0x100 == 0)
    })
}

fn put_stat(p: &mut Process, rpc: &mut Rpc, va: u64, st: Result<Stat, i64>) -> i64 {
    match st {
        Ok(s) => match write_val(p, rpc, va, &s) {
            Ok(()) => 0,
            Err(x) => err(x),
        },
        Err(x) => x,
    }
}

fn dup_to(p: &mut Process, old: i32, new: Option<i32>, min: i32, cloexec: bool) -> i64 {
    match p.fds.dup(old, new, min, cloexec) {
        Ok(fd) => i64::from(fd),
        Err(true) => err(e::EBADF),
        Err(false) => err(e::EMFILE),
    }
}

/// `pipe2(fds, flags)`: a new pipe's read and write ends at the two lowest free descriptors.
fn pipe(p: &mut Process, rpc: &mut Rpc, va: u64, flags: u32) -> i64 {
    if flags & !(f::O_CLOEXEC | f::O_NONBLOCK | f::O_DIRECT) != 0 {
        return err(e::EINVAL);
    }
    let (r, w) = PipeEnd::pair();
    let cloexec = flags & f::O_CLOEXEC != 0;
    let status = flags & f::O_NONBLOCK;
    let Some(rfd) = p
        .fds
        .insert_cloexec(Open::new(Target::Pipe(r), f::O_RDONLY | status), cloexec)
    else {
        return err(e::EMFILE);
    };
    let Some(wfd) = p
        .fds
        .insert_cloexec(Open::new(Target::Pipe(w), f::O_WRONLY | status), cloexec)
    else {
        p.fds.close(rfd);
        return err(e::EMFILE);
    };
    if write_val(p, rpc, va, &[rfd, wfd]).is_err() {
        p.fds.close(rfd);
        p.fds.close(wfd);
        return err(e::EFAULT);
    }
    0
}

fn simple(p: &mut Process, rpc: &mut Rpc, op: u32, path: &str, path2: &str, x: u64) -> i64 {
    match fs_req(p, rpc, op, path, path2, x, 0, 0, 0o755, &[], &mut [0u8; 64]) {
        Ok(_) => 0,
        Err(v) => v,
    }
}

/// The file syscalls.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> i64 {
    let fd = a[0] as i32;
    let r: Result<i64, i64> = (|| {
        Ok(match n {
            nr::OPEN => {
                let path = resolve(p, rpc, f::AT_FDCWD, a[0])?;
                open(p, rpc, path, a[1] as u32, a[2] as u32)
            }
            nr::OPENAT => {
                let path = resolve(p, rpc, fd, a[1])?;
                open(p, rpc, path, a[2] as u32, a[3] as u32)
            }
            nr::CLOSE => {
                if p.fds.close(fd) {
                    0
                } else {
                    err(e::EBADF)
                }
            }
            nr::LSEEK => {
                let (off, whence) = (a[1] as i64, a[2]);
                let Some(o) = p.fds.open(fd) else {
                    return Ok(err(e::EBADF));
                };
                let base: i64 = match (whence, &o.target) {
                    (_, Target::Stdin | Target::Output(_) | Target::Pipe(_)) => {
                        return Ok(err(e::ESPIPE));
                    }
                    (0, _) => 0,
                    (1, _) => o.offset as i64,
                    (2, Target::File(path)) => {
                        let path = path.clone();
                        stat_path(p, rpc, &path)?.size as i64
                    }
                    (2, _) => 0,
                    _ => return Ok(err(e::EINVAL)),
                };
                let Some(new) = base.checked_add(off).filter(|v| *v >= 0) else {
                    return Ok(err(e::EINVAL));
                };
                p.fds.update(fd, |o| {
                    o.offset = new as u64;
                    if let Target::Dir { next, .. } = &mut o.target {
                        *next = new as u64;
                    }
                });
                new
            }
            nr::FSTAT => {
                let st = fstat(p, rpc, fd);
                put_stat(p, rpc, a[1], st)
            }
            // The storage keeps no timestamps (`st_mtime` is the modification counter): the
            // file must exist (and `touch` has made it), the times themselves are not kept.
            nr::UTIMENSAT => {
                if a[1] == 0 {
                    return Ok(if p.fds.contains(fd) { 0 } else { err(e::EBADF) });
                }
                let path = resolve(p, rpc, fd, a[1])?;
                match stat_at(p, rpc, &path) {
                    Ok(_) => 0,
                    Err(x) => x,
                }
            }
            nr::STAT | nr::LSTAT => {
                let path = resolve(p, rpc, f::AT_FDCWD, a[0])?;
                let st = stat_link(p, rpc, &path, n == nr::STAT);
                put_stat(p, rpc, a[1], st)
            }
            nr::NEWFSTATAT => {
                let st = stat_fd_path(p, rpc, fd, a[1], a[3] as u32)?;
                put_stat(p, rpc, a[2], st)
            }
            nr::STATX => {
                // AT_SYMLINK_NOFOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH and the sync type.
                let flags = a[2] as u32;
                if flags & !(0x100 | 0x800 | f::AT_EMPTY_PATH | 0x6000) != 0
                    || flags & 0x6000 == 0x6000
                    || a[3] as u32 & STATX_RESERVED != 0
                {
                    return Ok(err(e::EINVAL));
                }
                match stat_fd_path(p, rpc, fd, a[1], flags)? {
                    Ok(s) => match write_val(p, rpc, a[4], &Statx::from_stat(&s)) {
                        Ok(()) => 0,
                        Err(x) => err(x),
                    },
                    Err(x) => x,
                }
            }
            nr::UTIME | nr::UTIMES | nr::FUTIMESAT => {
                // As `utimensat`: the file must exist; its times are not kept.
                let (dirfd, va) = if n == nr::FUTIMESAT {
                    (fd, a[1])
                } else {
                    (f::AT_FDCWD, a[0])
                };
                let path = resolve(p, rpc, dirfd, va)?;
                stat_at(p, rpc, &path).map(|_| 0)?
            }
            nr::ACCESS | nr::FACCESSAT | nr::FACCESSAT2 => {
                // F_OK or R/W/X_OK only; faccessat2's flags: AT_SYMLINK_NOFOLLOW,
                // AT_EACCESS, AT_EMPTY_PATH.
                let (dirfd, va, mode, flags) = match n {
                    nr::ACCESS => (f::AT_FDCWD, a[0], a[1], 0),
                    nr::FACCESSAT => (fd, a[1], a[2], 0),
                    _ => (fd, a[1], a[2], a[3]),
                };
                if mode & !7 != 0 || flags & !(0x100 | 0x200 | u64::from(f::AT_EMPTY_PATH)) != 0 {
                    return Ok(err(e::EINVAL));
                }
                let path = resolve(p, rpc, dirfd, va)?;
                stat_at(p, rpc, &path).map(|_| 0)?
            }
            nr::GETDENTS64 => getdents(p, rpc, fd, a[1], a[2]),
            nr::UNLINK => {
                let path = resolve(p, rpc, f::AT_FDCWD, a[0])?;
                simple(p, rpc, fsp::UNLINK, &path, "", 0)
            }
            nr::RMDIR => {
                let path = resolve(p, rpc, f::AT_FDCWD, a[0])?;
                simple(p, rpc, fsp::RMDIR, &path, "", 0)
            }
            nr::UNLINKAT => {
                let path = resolve(p, rpc, fd, a[1])?;
                let op = if a[2] as u32 & f::AT_REMOVEDIR != 0 {
                    fsp::RMDIR
                } else {
                    fsp::UNLINK
                };
                simple(p, rpc, op, &path, "", 0)
            }
            nr::MKDIR | nr::MKDIRAT => {
                let (path, mode) = if n == nr::MKDIR {
                    (resolve(p, rpc, f::AT_FDCWD, a[0])?, a[1] as u32)
                } else {
                    (resolve(p, rpc, fd, a[1])?, a[2] as u32)
                };
                let mode = mode & 0o7777 & !p.umask;
                match fs_req(
                    p,
                    rpc,
                    fsp::MKDIR,
                    &path,
                    "",
                    0,
                    0,
                    0,
                    mode,
                    &[],
                    &mut [0u8; 64],
                ) {
                    Ok(_) => 0,
                    Err(v) => v,
                }
            }
            nr::RENAME => {
                let from = resolve(p, rpc, f::AT_FDCWD, a[0])?;
                let to = resolve(p, rpc, f::AT_FDCWD, a[1])?;
                simple(p, rpc, fsp::RENAME, &from, &to, 0)
            }
            nr::RENAMEAT | nr::RENAMEAT2 => {
                if n == nr::RENAMEAT2 && a[4] != 0 {
                    return Ok(err(e::EINVAL));
                }
                let from = resolve(p, rpc, fd, a[1])?;
                let to = resolve(p, rpc, a[2] as i32, a[3])?;
                simple(p, rpc, fsp::RENAME, &from, &to, 0)
            }
            nr::TRUNCATE => {
                let path = resolve(p, rpc, f::AT_FDCWD, a[0])?;
                simple(p, rpc, fsp::TRUNCATE, &path, "", a[1])
            }
            nr::FTRUNCATE => match p.fds.open(fd).map(|o| (o.target, o.write)) {
                Some((Target::File(path), true)) => simple(p, rpc, fsp::TRUNCATE, &path, "", a[1]),
                Some((Target::File(_), false)) => err(e::EINVAL),
                Some(_) => err(e::EINVAL),
                None => err(e::EBADF),
            },
            nr::FSYNC | nr::FDATASYNC => match p.fds.target(fd) {
                Some(Target::File(path)) => simple(p, rpc, fsp::FSYNC, &path, "", 0),
                Some(_) => 0,
                None => err(e::EBADF),
            },
            nr::GETCWD => {
                let mut s = p.cwd.clone().into_bytes();
                s.push(0);
                if (s.len() as u64) > a[1] {
                    return Ok(err(e::ERANGE));
                }
                copy_out(p, rpc, a[0], &s).map_err(err)?;
                s.len() as i64
            }
            nr::CHDIR => {
                let path = resolve(p, rpc, f::AT_FDCWD, a[0])?;
                if is_device(&path) {
                    return Ok(err(e::ENOTDIR));
                }
                if procfs::is_pseudo(&path) {
                    return Ok(match procfs::lookup(p, &path, true) {
                        Ok(Node::Dir(_)) => {
                            p.cwd = procfs::canonical(p, &path);
                            0
                        }
                        Ok(_) => err(e::ENOTDIR),
                        Err(x) => err(x),
                    });
                }
                let st = stat_path(p, rpc, &path)?;
                if st.kind != kind::DIR {
                    return Ok(err(e::ENOTDIR));
                }
                p.cwd = path;
                0
            }
            nr::READLINK | nr::READLINKAT => {
                let (pv, buf, len) = if n == nr::READLINK {
                    (a[0], a[1], a[2])
                } else {
                    (a[1], a[2], a[3])
                };
                let path = resolve(p, rpc, if n == nr::READLINK { f::AT_FDCWD } else { fd }, pv)?;
                if (len as i64) <= 0 {
                    return Ok(err(e::EINVAL));
                }
                if procfs::is_pseudo(&path) {
                    match procfs::lookup(p, &path, false) {
                        Ok(Node::Link(t)) => {
                            let k = t.len().min(len as usize);
                            copy_out(p, rpc, buf, &t.as_bytes()[..k]).map_err(err)?;
                            k as i64
                        }
                        Ok(_) => err(e::EINVAL),
                        Err(x) => err(x),
                    }
                } else {
                    // No symbolic links in the vNode's storage: an existing file is not one.
                    stat_at(p, rpc, &path)?;
                    err(e::EINVAL)
                }
            }
            nr::DUP => dup_to(p, fd, None, 0, false),
            nr::DUP2 => {
                if !p.fds.contains(fd) {
                    return Ok(err(e::EBADF));
                }
                if fd == a[1] as i32 {
                    i64::from(fd)
                } else {
                    dup_to(p, fd, Some(a[1] as i32), 0, false)
                }
            }
            nr::DUP3 => {
                if fd == a[1] as i32 || a[2] as u32 & !f::O_CLOEXEC != 0 {
                    return Ok(err(e::EINVAL));
                }
                dup_to(p, fd, Some(a[1] as i32), 0, a[2] as u32 & f::O_CLOEXEC != 0)
            }
            nr::FCNTL => fcntl(p, fd, a[1] as u32, a[2]),
            nr::PIPE | nr::PIPE2 => {
                let flags = if n == nr::PIPE2 { a[1] as u32 } else { 0 };
                pipe(p, rpc, a[0], flags)
            }
            nr::CLOSE_RANGE => {
                const CLOSE_RANGE_UNSHARE: u64 = 2;
                const CLOSE_RANGE_CLOEXEC: u64 = 4;
                let (lo, hi, flags) = (a[0] as u32, a[1] as u32, a[2]);
                if lo > hi || flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 {
                    return Ok(err(e::EINVAL));
                }
                p.fds.close_range(lo, hi, flags & CLOSE_RANGE_CLOEXEC != 0);
                0
            }
            nr::IOCTL => ioctl(p, rpc, fd, a[1] as u32, a[2]),
            _ => err(e::ENOSYS),
        })
    })();
    r.unwrap_or_else(|x| x)
}

fn fcntl(p: &mut Process, fd: i32, cmd: u32, arg: u64) -> i64 {
    const F_DUPFD: u32 = 0;
    const F_GETFD: u32 = 1;
    const F_SETFD: u32 = 2;
    const F_GETFL: u32 = 3;
    const F_SETFL: u32 = 4;
    const F_DUPFD_CLOEXEC: u32 = 1030;
    const F_GETPIPE_SZ: u32 = 1032;
    match cmd {
        // A lowest descriptor outside the limit is EINVAL here (dup2's target is EBADF).
        F_DUPFD | F_DUPFD_CLOEXEC if p.fds.contains(fd) && arg >= p.fds.limit() as u64 => {
            err(e::EINVAL)
        }
        F_DUPFD => dup_to(p, fd, None, arg as i32, false),
        F_DUPFD_CLOEXEC => dup_to(p, fd, None, arg as i32, true),
        F_GETFD => match p.fds.cloexec(fd) {
            Some(c) => i64::from(c),
            None => err(e::EBADF),
        },
        F_SETFD => {
            if p.fds.set_cloexec(fd, arg & 1 != 0) {
                0
            } else {
                err(e::EBADF)
            }
        }
        F_GETFL | F_SETFL => {
            let Some(d) = p.fds.get(fd) else {
                return err(e::EBADF);
            };
            let mut o = d.lock();
            if cmd == F_GETFL {
                return i64::from(o.flags);
            }
            let keep = o.flags & f::O_ACCMODE;
            o.flags = keep | (arg as u32 & (f::O_APPEND | f::O_NONBLOCK));
            o.append = o.flags & f::O_APPEND != 0;
            0
        }
        F_GETPIPE_SZ => match p.fds.target(fd) {
            Some(Target::Pipe(_)) => crate::pipe::CAPACITY as i64,
            Some(_) => err(e::EBADF),
            None => err(e::EBADF),
        },
        _ => {
            if p.fds.contains(fd) {
                err(e::EINVAL)
            } else {
                err(e::EBADF)
            }
        }
    }
}

fn ioctl(p: &mut Process, rpc: &mut Rpc, fd: i32, cmd: u32, arg: u64) -> i64 {
    const TCGETS: u32 = 0x5401;
    const TIOCGWINSZ: u32 = 0x5413;
    const TIOCGPGRP: u32 = 0x540f;
    const FIONREAD: u32 = 0x541b;
    const FIONBIO: u32 = 0x5421;
    const FIONCLEX: u32 = 0x5450;
    const FIOCLEX: u32 = 0x5451;
    let Some(t) = p.fds.target(fd) else {
        return err(e::EBADF);
    };
    // The ones every descriptor takes.
    match cmd {
        FIOCLEX | FIONCLEX => {
            p.fds.set_cloexec(fd, cmd == FIOCLEX);
            return 0;
        }
        FIONBIO => {
            let on: i32 = match read_val(p, rpc, arg) {
                Ok(v) => v,
                Err(x) => return err(x),
            };
            p.fds.update(fd, |o| {
                o.flags = if on != 0 {
                    o.flags | f::O_NONBLOCK
                } else {
                    o.flags & !f::O_NONBLOCK
                }
            });
            return 0;
        }
        FIONREAD if matches!(t, Target::Pipe(_)) => {
            let n = match &t {
                Target::Pipe(end) => end.available() as i32,
                _ => 0,
            };
            return match write_val(p, rpc, arg, &n) {
                Ok(()) => 0,
                Err(x) => err(x),
            };
        }
        _ => {}
    }
    if !is_tty(p, &t) {
        return err(e::ENOTTY);
    }
    let r: Result<(), Errno> = match cmd {
        TCGETS => write_val(p, rpc, arg, &Termios::default_tty()),
        TIOCGWINSZ => {
            let (rows, cols) = p.winsize;
            let w = Winsize {
                ws_row: if rows == 0 { 24 } else { rows },
                ws_col: if cols == 0 { 80 } else { cols },
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            write_val(p, rpc, arg, &w)
        }
        TIOCGPGRP => write_val(p, rpc, arg, &(p.pid as i32)),
        _ => return err(e::ENOTTY),
    };
    match r {
        Ok(()) => 0,
        Err(x) => err(x),
    }
}
