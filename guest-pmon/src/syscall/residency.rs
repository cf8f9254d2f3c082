//! `mlock` and friends, `msync`, `mincore`: answered from the process's own copy of its vmas.
//! Pages live at the mComponents whatever a program asks (locking them in the ExCache would
//! take lines from everyone else), so locks are checked and accepted, not enforced; `msync`
//! has nothing to write back (writable shared file mappings are refused at `mmap`).

extern crate alloc;

use alloc::vec::Vec;

use guest_rt::rpc::Rpc;
use lego_linux::errno::{self as e, Errno};
use lego_linux::sysno as nr;
use lego_proto::mem::{PAGE, vma_flags};

use super::{copy_out, err};
use crate::process::Process;

const PG: u64 = PAGE as u64;
/// A leaf entry's dirty bit.
const D_BIT: u64 = 1 << 6;
/// Most pages one `mincore` reports on at a time (its vector is written in pieces).
const MINCORE_CHUNK: u64 = 4096;

/// The pages of `[addr, addr + len)` (rounded out to pages), `ENOMEM` if one is unmapped.
fn mapped(p: &Process, addr: u64, len: u64) -> Result<(u64, u64), Errno> {
    let lo = addr & !(PG - 1);
    let hi = addr
        .checked_add(len)
        .and_then(|h| h.checked_add(PG - 1))
        .ok_or(e::ENOMEM)?
        & !(PG - 1);
    let mut at = lo;
    while at < hi {
        let v = p.vma_at(at).ok_or(e::ENOMEM)?;
        at = v.end;
    }
    Ok((lo, hi))
}

fn ok(r: Result<(), Errno>) -> i64 {
    r.map_or_else(err, |()| 0)
}

/// The syscalls of this family; `None` for one of another.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> Option<i64> {
    Some(match n {
        nr::MLOCK | nr::MUNLOCK => ok(mapped(p, a[0], a[1]).map(|_| ())),
        nr::MLOCK2 => {
            // MLOCK_ONFAULT is the only flag.
            if a[2] & !1 != 0 {
                return Some(err(e::EINVAL));
            }
            ok(mapped(p, a[0], a[1]).map(|_| ()))
        }
        nr::MLOCKALL => {
            // MCL_CURRENT, MCL_FUTURE, and MCL_ONFAULT only with one of them.
            let f = a[0];
            if f == 0 || f & !7 != 0 || f == 4 {
                return Some(err(e::EINVAL));
            }
            0
        }
        nr::MUNLOCKALL => 0,
        nr::MSYNC => {
            // MS_ASYNC | MS_INVALIDATE | MS_SYNC, not both ASYNC and SYNC.
            let f = a[2];
            if f & !7 != 0 || f & 5 == 5 || !a[0].is_multiple_of(PG) {
                return Some(err(e::EINVAL));
            }
            ok(mapped(p, a[0], a[1]).map(|_| ()))
        }
        nr::MINCORE => mincore(p, rpc, a[0], a[1], a[2]),
        _ => return None,
    })
}

/// `mincore`: a byte per page, 1 if its data is in memory somewhere (written here, or held
/// by an owner; a file mapping's pages are filled when mapped), 0 for anonymous pages never
/// written (the zero-filled neighbours fault-around maps clean are not counted: Linux would
/// not have allocated them).
fn mincore(p: &mut Process, rpc: &mut Rpc, addr: u64, len: u64, vec: u64) -> i64 {
    if !addr.is_multiple_of(PG) {
        return err(e::EINVAL);
    }
    let (lo, hi) = match mapped(p, addr, len) {
        Ok(r) => r,
        Err(x) => return err(x),
    };
    let mut out: Vec<u8> = Vec::new();
    let mut at = lo;
    let mut written = 0u64;
    while at < hi {
        out.clear();
        let end = hi.min(at + MINCORE_CHUNK * PG);
        while at < end {
            let anon = p.vma_at(at).is_some_and(|v| v.flags & vma_flags::ANON != 0);
            let here = !anon || p.touched.contains(at) || p.space.pte(at) & D_BIT != 0;
            out.push(u8::from(here));
            at += PG;
        }
        if let Err(x) = copy_out(p, rpc, vec + written, &out) {
            return err(x);
        }
        written += out.len() as u64;
    }
    0
}
