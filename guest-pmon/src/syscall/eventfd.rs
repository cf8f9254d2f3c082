//! `eventfd` and `eventfd2`: a descriptor over a counter (`crate::eventfd`); reads, writes
//! and `poll` are in `io` and `poll`.

use guest_rt::rpc::Rpc;
use lego_linux::errno as e;
use lego_linux::eventfd::{Counter, EFD_SEMAPHORE};
use lego_linux::sysno as nr;

use super::err;
use crate::eventfd::EventFd;
use crate::fd::{Open, Target};
use crate::process::Process;

/// `EFD_CLOEXEC` (`O_CLOEXEC`).
const EFD_CLOEXEC: u32 = 0o2_000_000;
/// `EFD_NONBLOCK` (`O_NONBLOCK`).
const EFD_NONBLOCK: u32 = 0o4000;

/// The syscalls of this family; `None` for one of another.
pub fn call(p: &mut Process, _rpc: &mut Rpc, n: u64, a: [u64; 6]) -> Option<i64> {
    let flags = match n {
        nr::EVENTFD => 0,
        nr::EVENTFD2 => a[1] as u32,
        _ => return None,
    };
    if flags & !(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Some(err(e::EINVAL));
    }
    let ev = EventFd::new(Counter::new(a[0] as u32, flags));
    // O_RDWR, and O_NONBLOCK if asked.
    let open = Open::new(Target::Event(ev), 2 | (flags & EFD_NONBLOCK));
    Some(match p.fds.insert_cloexec(open, flags & EFD_CLOEXEC != 0) {
        Some(fd) => i64::from(fd),
        None => err(e::EMFILE),
    })
}
