//! Memory syscalls: decided by the process's home mComponent (LegoOS routes them P -> home M);
//! the reply says what the vmas of the range are now, and which cached lines to drop.

extern crate alloc;

use alloc::vec::Vec;

use guest_rt::rpc::{Rpc, RpcError};
use lego_linux::errno as e;
use lego_linux::sysno as nr;
use lego_proto::mem::{self as proto, PAGE};
use zerocopy::{FromBytes, IntoBytes};

use super::{err, status_err};
use crate::process::Process;

const PG: u64 = PAGE as u64;

fn up(x: u64) -> u64 {
    x.checked_add(PG - 1).map_or(!(PG - 1), |v| v & !(PG - 1))
}

/// Sends a memory request to the home and applies its reply to the process's view.
fn home_call(p: &mut Process, rpc: &mut Rpc, op: u32, req: &[u8]) -> Result<u64, i64> {
    // Victims already picked reach their owners while their vmas still exist there.
    if !p.flush_pending(rpc) {
        return Err(err(e::ENOMEM));
    }
    let mut out = alloc::vec![0u8; lego_proto::rpc::MAX_PAYLOAD];
    let n = match rpc.call(p.home, op, req, &mut out) {
        Ok(n) => n,
        Err(RpcError::Remote(s)) => return Err(status_err(s)),
        Err(_) => return Err(err(e::ENOMEM)),
    };
    let (h, rest) = proto::MapReply::read_from_prefix(&out[..n]).map_err(|_| err(e::EIO))?;
    let (vs, rs) = (
        core::mem::size_of::<proto::Vma>(),
        core::mem::size_of::<proto::Region>(),
    );
    let (nv, nr_, nd) = (h.nvmas as usize, h.nregions as usize, h.ndrops as usize);
    if rest.len() < nv * vs + nr_ * rs + nd * 16 {
        return Err(err(e::EIO));
    }
    let vmas: Vec<proto::Vma> = rest[..nv * vs]
        .chunks_exact(vs)
        .filter_map(|c| proto::Vma::read_from_bytes(c).ok())
        .collect();
    let regions: Vec<proto::Region> = rest[nv * vs..nv * vs + nr_ * rs]
        .chunks_exact(rs)
        .filter_map(|c| proto::Region::read_from_bytes(c).ok())
        .collect();
    let drops: Vec<(u64, u64)> = rest[nv * vs + nr_ * rs..nv * vs + nr_ * rs + nd * 16]
        .chunks_exact(16)
        .map(|c| {
            let mut a = [0u8; 8];
            let mut b = [0u8; 8];
            a.copy_from_slice(&c[..8]);
            b.copy_from_slice(&c[8..]);
            (u64::from_le_bytes(a), u64::from_le_bytes(b))
        })
        .collect();
    // Lines of dropped ranges go without a write-back; those pages read as zero (or the
    // file) again.
    for (lo, hi) in &drops {
        p.invalidate(rpc, *lo, *hi, false);
        p.touched.clear_range(*lo..*hi);
    }
    if h.moved_len != 0 {
        p.touched.move_range(h.moved_from, h.result, h.moved_len);
    }
    p.set_vmas(h.lo, h.hi, &vmas, &regions);
    Ok(h.result)
}

fn range(pid: u32, arg: u32, addr: u64, len: u64) -> proto::RangeRequest {
    proto::RangeRequest {
        pid,
        arg,
        addr,
        len,
    }
}

/// The memory syscalls.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> i64 {
    let pid = p.pid;
    let r = match n {
        nr::BRK => home_call(p, rpc, proto::BRK, range(pid, 0, a[0], 0).as_bytes()),
        nr::MMAP => mmap(p, rpc, a),
        nr::MUNMAP => home_call(p, rpc, proto::MUNMAP, range(pid, 0, a[0], a[1]).as_bytes()),
        nr::MPROTECT => {
            // Cached lines are mapped with the old protection: write them back and drop them,
            // so the next touch maps them with the new one.
            let hi = a[0].saturating_add(up(a[1]));
            if a[0].is_multiple_of(PG) && !p.invalidate(rpc, a[0], hi, true) {
                return err(e::ENOMEM);
            }
            home_call(
                p,
                rpc,
                proto::MPROTECT,
                range(pid, a[2] as u32, a[0], a[1]).as_bytes(),
            )
        }
        nr::MADVISE => home_call(
            p,
            rpc,
            proto::MADVISE,
            range(pid, a[2] as u32, a[0], a[1]).as_bytes(),
        ),
        nr::MREMAP => {
            // The pages move at their owners: what is only here must get there first.
            let hi = a[0].saturating_add(up(a[1]));
            if a[0].is_multiple_of(PG) && !p.invalidate(rpc, a[0], hi, true) {
                return err(e::ENOMEM);
            }
            let req = proto::MremapRequest {
                pid,
                flags: a[3] as u32,
                old_addr: a[0],
                old_len: a[1],
                new_len: a[2],
                new_addr: a[4],
            };
            home_call(p, rpc, proto::MREMAP, req.as_bytes())
        }
        _ => Err(err(e::ENOSYS)),
    };
    match r {
        Ok(v) => v as i64,
        Err(x) => x,
    }
}

fn mmap(p: &mut Process, rpc: &mut Rpc, a: [u64; 6]) -> Result<u64, i64> {
    let flags = a[3] as u32;
    let fd = a[4] as i32;
    let mut req = proto::MmapRequest {
        pid: p.pid,
        prot: a[2] as u32,
        flags,
        addr: a[0],
        len: a[1],
        offset: a[5],
        ..proto::MmapRequest::default()
    };
    let mut path = Vec::new();
    const MAP_ANONYMOUS: u32 = 0x20;
    if flags & MAP_ANONYMOUS == 0 {
        let Some(o) = p.fds.open(fd) else {
            return Err(err(e::EBADF));
        };
        match &o.target {
            crate::fd::Target::File(f) => {
                if !o.read {
                    return Err(err(e::EACCES));
                }
                path.extend_from_slice(f.as_bytes());
            }
            crate::fd::Target::Zero | crate::fd::Target::Null => {
                // Like Linux, a private map of /dev/zero is anonymous memory.
                req.flags |= MAP_ANONYMOUS;
            }
            _ => return Err(err(e::ENODEV)),
        }
        req.vnode = p.vnode.0;
        req.storage = p.vnode.1;
        req.cache = p.vnode.2;
        req.path_len = path.len() as u32;
    }
    let mut b = Vec::new();
    b.extend_from_slice(req.as_bytes());
    b.extend_from_slice(&path);
    home_call(p, rpc, proto::MMAP, &b)
}
