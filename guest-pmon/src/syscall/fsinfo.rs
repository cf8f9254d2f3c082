//! File-system-wide calls and hints: `statfs`, `fstatfs`, `sync`, `syncfs`, `flock`,
//! `fadvise64`, `readahead`, and `fchdir` and `creat`, which are other calls in disguise.

extern crate alloc;

use guest_rt::rpc::Rpc;
use lego_linux::abi::fcntl as f;
use lego_linux::abi::stat::{ST_VALID, Statfs};
use lego_linux::errno as e;
use lego_linux::sysno as nr;
use lego_proto::fs::{self as fsp, FsStatFs};
use zerocopy::FromBytes;

use super::fs::{fs_req, resolve, stat_path};
use super::{err, put};
use crate::fd::Target;
use crate::process::Process;

/// `f_type` of the vNode's storage: "LEGO".
const LEGO_MAGIC: i64 = 0x4c45_474f;
/// Longest name the storage keeps (its paths are at most `MAX_PATH` bytes in all).
const NAME_MAX: i64 = 255;

/// The syscalls of this family; `None` for one of another.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> Option<i64> {
    let fd = a[0] as i32;
    Some(match n {
        nr::STATFS => match resolve(p, rpc, f::AT_FDCWD, a[0]) {
            Ok(path) => {
                if !super::fs::is_device(&path)
                    && let Err(x) = stat_path(p, rpc, &path)
                {
                    return Some(x);
                }
                statfs(p, rpc, a[1])
            }
            Err(x) => x,
        },
        nr::FSTATFS => {
            if p.fds.target(fd).is_none() {
                return Some(err(e::EBADF));
            }
            statfs(p, rpc, a[1])
        }
        nr::SYNC => {
            sync_open_files(p, rpc);
            0
        }
        nr::SYNCFS => {
            if p.fds.target(fd).is_none() {
                return Some(err(e::EBADF));
            }
            sync_open_files(p, rpc);
            0
        }
        nr::FLOCK => {
            // LOCK_SH, LOCK_EX or LOCK_UN, maybe with LOCK_NB. Accepted, not enforced:
            // processes of one vNode share no lock table yet.
            let op = a[1] & !4;
            if p.fds.target(fd).is_none() {
                return Some(err(e::EBADF));
            }
            if !matches!(op, 1 | 2 | 8) {
                return Some(err(e::EINVAL));
            }
            0
        }
        nr::FADVISE64 => match p.fds.target(fd) {
            None => err(e::EBADF),
            Some(Target::Pipe(_)) => err(e::ESPIPE),
            Some(_) if a[3] > 5 || (a[2] as i64) < 0 => err(e::EINVAL),
            Some(_) => 0,
        },
        nr::READAHEAD => match p.fds.target(fd) {
            None => err(e::EBADF),
            Some(Target::File(_)) => 0,
            Some(_) => err(e::EINVAL),
        },
        nr::FCHDIR => match p.fds.target(fd) {
            None => err(e::EBADF),
            Some(Target::Dir { path, .. }) => {
                p.cwd = path;
                0
            }
            // Directories open as `Dir` targets: anything else is not one.
            Some(_) => err(e::ENOTDIR),
        },
        nr::CREAT => super::fs::call(
            p,
            rpc,
            nr::OPEN,
            [
                a[0],
                u64::from(f::O_CREAT | f::O_WRONLY | f::O_TRUNC),
                a[1],
                0,
                0,
                0,
            ],
        ),
        _ => return None,
    })
}

/// Writes the storage's `statfs` at `va`.
fn statfs(p: &mut Process, rpc: &mut Rpc, va: u64) -> i64 {
    let mut out = [0u8; 128];
    let s = match fs_req(p, rpc, fsp::STATFS, "/", "", 0, 0, 0, 0, &[], &mut out) {
        Ok(k) => match FsStatFs::read_from_bytes(&out[..k.min(core::mem::size_of::<FsStatFs>())]) {
            Ok(s) => s,
            Err(_) => return err(e::EIO),
        },
        Err(x) => return x,
    };
    let st = Statfs {
        f_type: LEGO_MAGIC,
        f_bsize: s.block_size as i64,
        f_blocks: s.blocks,
        f_bfree: s.blocks_free,
        f_bavail: s.blocks_free,
        f_fsid: [p.vnode.0 as i32, p.vnode.1 as i32],
        f_namelen: NAME_MAX,
        f_frsize: s.block_size as i64,
        f_flags: ST_VALID,
        ..Statfs::default()
    };
    put(p, rpc, va, &st)
}

/// `sync`/`syncfs`: every file this process has open is made durable (the storage commits
/// everything done before with each). Other processes' unwritten data stays in their
/// buffer-cache pages until they sync it or it is written back.
fn sync_open_files(p: &mut Process, rpc: &mut Rpc) {
    for path in p.fds.file_paths() {
        let _ = fs_req(
            p,
            rpc,
            fsp::FSYNC,
            &path,
            "",
            0,
            0,
            0,
            0,
            &[],
            &mut [0u8; 64],
        );
    }
}
