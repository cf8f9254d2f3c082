//! `futex`, robust lists, `membarrier`, and what a thread's end does to them. A waiter is a thread of the
//! same process asleep with its [`FutexWait`]; waking makes it runnable with `rax` 0. Keys are
//! the word's user address: threads share one address space, and processes share no memory
//! with each other (a forked child's pages are copies), so private and shared futexes are the
//! same thing here. The monitor reads and writes the words while no thread of the process
//! runs, which makes `FUTEX_WAKE_OP`'s read-modify-write atomic.

use guest_rt::rpc::Rpc;
use guest_rt::time;
use lego_linux::abi::time::Timespec;
use lego_linux::errno::{self as e, Errno};
use lego_linux::futex::{self as fx, Cmd};
use lego_linux::sysno as nr;

use super::{err, put, read_val, write_val};
use crate::process::{Process, RunState};
use crate::thread::FutexWait;

const NS: u64 = 1_000_000_000;

/// The syscalls of this family; `None` for one of another.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> Option<i64> {
    Some(match n {
        nr::FUTEX => match futex(p, rpc, a) {
            Ok(v) => v,
            Err(x) => err(x),
        },
        nr::MEMBARRIER => membarrier(p, a[0] as u32, a[1] as u32),
        nr::SET_ROBUST_LIST => {
            if a[1] != fx::ROBUST_HEAD_LEN {
                return Some(err(e::EINVAL));
            }
            p.robust_list = a[0];
            0
        }
        nr::GET_ROBUST_LIST => {
            let tid = a[0] as u32;
            let head = if tid == 0 || tid == p.tid {
                p.robust_list
            } else {
                match p.thread_index(tid) {
                    Some(k) => p.threads[k].robust_list,
                    None => return Some(err(e::ESRCH)),
                }
            };
            match put(p, rpc, a[1], &head) {
                0 => put(p, rpc, a[2], &fx::ROBUST_HEAD_LEN),
                r => r,
            }
        }
        _ => return None,
    })
}

fn futex(p: &mut Process, rpc: &mut Rpc, a: [u64; 6]) -> Result<i64, Errno> {
    let (addr, op, val) = (a[0], a[1] as u32, a[2] as u32);
    if !addr.is_multiple_of(4) {
        return Err(e::EINVAL);
    }
    match fx::decode(op, a[5] as u32)? {
        Cmd::Wait {
            bitset,
            absolute,
            realtime,
        } => {
            let deadline = if a[3] == 0 {
                u64::MAX
            } else {
                let t: Timespec = read_val(p, rpc, a[3])?;
                if t.tv_sec < 0 || !(0..NS as i64).contains(&t.tv_nsec) {
                    return Err(e::EINVAL);
                }
                let d = (t.tv_sec as u64).saturating_mul(NS) + t.tv_nsec as u64;
                let now = time::now_ns();
                match (absolute, realtime) {
                    (false, _) => now.saturating_add(d),
                    (true, false) => d,
                    (true, true) => now.saturating_add(d.saturating_sub(super::realtime(p))),
                }
            };
            let word: u32 = read_val(p, rpc, addr)?;
            if word != val {
                return Err(e::EAGAIN);
            }
            if deadline <= time::now_ns() {
                return Err(e::ETIMEDOUT);
            }
            p.futex = Some(FutexWait { addr, bitset });
            p.state = RunState::Sleeping(deadline);
            Ok(0)
        }
        Cmd::Wake { bitset } => Ok(i64::from(wake(p, addr, val, bitset))),
        Cmd::Requeue { cmp } => {
            let (addr2, max_moved) = (a[4], a[3] as u32);
            if !addr2.is_multiple_of(4) {
                return Err(e::EINVAL);
            }
            if cmp {
                let word: u32 = read_val(p, rpc, addr)?;
                if word != a[5] as u32 {
                    return Err(e::EAGAIN);
                }
            }
            let woken = wake(p, addr, val, fx::MATCH_ANY);
            let mut moved = 0;
            for t in &mut p.threads {
                if moved >= max_moved {
                    break;
                }
                if let Some(w) = t.futex.as_mut()
                    && w.addr == addr
                {
                    w.addr = addr2;
                    moved += 1;
                }
            }
            // CMP_REQUEUE counts both; REQUEUE only the woken.
            Ok(i64::from(if cmp { woken + moved } else { woken }))
        }
        Cmd::WakeOp => {
            let (addr2, val2) = (a[4], a[3] as u32);
            if !addr2.is_multiple_of(4) {
                return Err(e::EINVAL);
            }
            let old: u32 = read_val(p, rpc, addr2)?;
            let (new, also) = fx::wake_op(a[5] as u32, old)?;
            write_val(p, rpc, addr2, &new)?;
            let mut woken = wake(p, addr, val, fx::MATCH_ANY);
            if also {
                woken += wake(p, addr2, val2, fx::MATCH_ANY);
            }
            Ok(i64::from(woken))
        }
    }
}

/// `MEMBARRIER_CMD_PRIVATE_EXPEDITED` and its registration.
const MEMBARRIER_PRIVATE: u32 = 8;
const MEMBARRIER_REGISTER_PRIVATE: u32 = 16;

/// `membarrier(cmd, flags)`: the private expedited barrier makes every CPU running a thread of
/// the process leave user code (a shootdown of its page table does exactly that: each one
/// passes through the monitor, a full barrier) before it returns. The global commands are not
/// offered (`QUERY` says which are).
fn membarrier(p: &mut Process, cmd: u32, flags: u32) -> i64 {
    if flags != 0 {
        return err(e::EINVAL);
    }
    match cmd {
        0 => i64::from(MEMBARRIER_PRIVATE | MEMBARRIER_REGISTER_PRIVATE),
        MEMBARRIER_REGISTER_PRIVATE => {
            p.membarrier = true;
            0
        }
        MEMBARRIER_PRIVATE if !p.membarrier => err(e::EPERM),
        MEMBARRIER_PRIVATE => {
            p.space.shootdown();
            0
        }
        _ => err(e::EINVAL),
    }
}

/// Wakes up to `n` threads of `p` waiting on `addr` with a bitset meeting `bitset`; how many.
pub fn wake(p: &mut Process, addr: u64, n: u32, bitset: u32) -> u32 {
    let mut woken = 0;
    for t in &mut p.threads {
        if woken >= n {
            break;
        }
        if t.futex
            .is_some_and(|w| w.addr == addr && w.bitset & bitset != 0)
        {
            t.futex = None;
            t.state = RunState::Runnable;
            t.regs.rax = 0;
            woken += 1;
        }
    }
    woken
}

/// The running thread ends while others go on (`exit`): its robust futexes are released,
/// its `clear_child_tid` word zeroed and one waiter of it woken (how `pthread_join` learns),
/// and the thread goes.
pub fn exit_thread(p: &mut Process, rpc: &mut Rpc) {
    release_robust_list(p, rpc);
    let ctid = core::mem::take(&mut p.clear_tid);
    if ctid != 0 && write_val(p, rpc, ctid, &0u32).is_ok() {
        wake(p, ctid, 1, fx::MATCH_ANY);
    }
    p.state = RunState::Exited;
}

/// Marks the robust futexes the running thread still holds as their owner's death (Linux's
/// `exit_robust_list`): a bad list is simply not followed further.
fn release_robust_list(p: &mut Process, rpc: &mut Rpc) {
    let head = core::mem::take(&mut p.robust_list);
    if head == 0 {
        return;
    }
    // struct robust_list_head { next, futex_offset, list_op_pending }.
    let Ok([first, offset, pending]) = read_val::<[u64; 3]>(p, rpc, head) else {
        return;
    };
    // Bit 0 of an entry marks a PI futex; the entry is the address without it.
    let mut entry = first;
    for _ in 0..fx::ROBUST_LIST_LIMIT {
        if entry & !1 == head || entry == 0 {
            break;
        }
        let Ok(next) = read_val::<u64>(p, rpc, entry & !1) else {
            break;
        };
        if entry != pending {
            owner_died(p, rpc, (entry & !1).wrapping_add(offset));
        }
        entry = next;
    }
    if pending != 0 {
        owner_died(p, rpc, (pending & !1).wrapping_add(offset));
    }
}

fn owner_died(p: &mut Process, rpc: &mut Rpc, word_va: u64) {
    if !word_va.is_multiple_of(4) {
        return;
    }
    let Ok(word) = read_val::<u32>(p, rpc, word_va) else {
        return;
    };
    if let Some((new, waiters)) = fx::owner_died(word, p.tid)
        && write_val(p, rpc, word_va, &new).is_ok()
        && waiters
    {
        wake(p, word_va, 1, fx::MATCH_ANY);
    }
}
