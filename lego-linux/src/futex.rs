//! `futex(2)`: decoding the operation word and `FUTEX_WAKE_OP`'s encoded operation, and the
//! robust-list rules, as Linux's `kernel/futex/` does. The waiting and waking happen in the
//! monitor; what the words mean is here, tested on the host.

use crate::errno::{self as e, Errno};

/// `FUTEX_WAIT`.
pub const WAIT: u32 = 0;
/// `FUTEX_WAKE`.
pub const WAKE: u32 = 1;
/// `FUTEX_REQUEUE`.
pub const REQUEUE: u32 = 3;
/// `FUTEX_CMP_REQUEUE`.
pub const CMP_REQUEUE: u32 = 4;
/// `FUTEX_WAKE_OP`.
pub const WAKE_OP: u32 = 5;
/// `FUTEX_WAIT_BITSET`.
pub const WAIT_BITSET: u32 = 9;
/// `FUTEX_WAKE_BITSET`.
pub const WAKE_BITSET: u32 = 10;
/// `FUTEX_PRIVATE_FLAG`: the futex is not shared with other processes.
pub const PRIVATE: u32 = 128;
/// `FUTEX_CLOCK_REALTIME`: an absolute timeout on `CLOCK_REALTIME`.
pub const CLOCK_REALTIME: u32 = 256;
/// `FUTEX_BITSET_MATCH_ANY`.
pub const MATCH_ANY: u32 = u32::MAX;
/// A robust futex's "someone waits" bit.
pub const WAITERS: u32 = 0x8000_0000;
/// A robust futex's "the owner died" bit.
pub const OWNER_DIED: u32 = 0x4000_0000;
/// The owner's tid in a robust futex.
pub const TID_MASK: u32 = 0x3fff_ffff;
/// `sizeof(struct robust_list_head)`: what `set_robust_list` must be given.
pub const ROBUST_HEAD_LEN: u64 = 24;
/// Most entries of a robust list walked at exit (Linux's `ROBUST_LIST_LIMIT`).
pub const ROBUST_LIST_LIMIT: usize = 2048;

/// A decoded `futex` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Sleep while the word equals `val` (`bitset`: which wakes count; `absolute`: the
    /// timeout is a deadline, `realtime`: on `CLOCK_REALTIME`).
    Wait {
        /// Which wake bitsets end the wait.
        bitset: u32,
        /// The timeout is absolute (`WAIT_BITSET`) rather than relative (`WAIT`).
        absolute: bool,
        /// The absolute timeout is on `CLOCK_REALTIME`.
        realtime: bool,
    },
    /// Wake up to `val` waiters whose bitset meets `bitset`.
    Wake {
        /// Which waiters.
        bitset: u32,
    },
    /// Wake up to `val`, move up to `val2` of the rest to the second word; `cmp`: only if
    /// the first word equals `val3` (`CMP_REQUEUE`).
    Requeue {
        /// Compare first.
        cmp: bool,
    },
    /// `FUTEX_WAKE_OP`.
    WakeOp,
}

/// Decodes the operation word (`EINVAL` for a bitset of 0, `ENOSYS` for the PI and other
/// operations not kept, as Linux answers for the ones it lacks).
pub fn decode(op: u32, val3: u32) -> Result<Cmd, Errno> {
    let realtime = op & CLOCK_REALTIME != 0;
    let cmd = op & !(PRIVATE | CLOCK_REALTIME);
    if realtime && !matches!(cmd, WAIT | WAIT_BITSET) {
        return Err(e::ENOSYS);
    }
    Ok(match cmd {
        WAIT => Cmd::Wait {
            bitset: MATCH_ANY,
            absolute: false,
            realtime: false,
        },
        WAIT_BITSET | WAKE_BITSET if val3 == 0 => return Err(e::EINVAL),
        WAIT_BITSET => Cmd::Wait {
            bitset: val3,
            absolute: true,
            realtime,
        },
        WAKE => Cmd::Wake { bitset: MATCH_ANY },
        WAKE_BITSET => Cmd::Wake { bitset: val3 },
        REQUEUE => Cmd::Requeue { cmp: false },
        CMP_REQUEUE => Cmd::Requeue { cmp: true },
        WAKE_OP => Cmd::WakeOp,
        _ => return Err(e::ENOSYS),
    })
}

/// `FUTEX_WAKE_OP`'s encoded operation (`val3`) applied to the second word's `old` value:
/// the new value to store and whether the waiters of the second word are woken too.
/// `ENOSYS` for an unknown operation or comparison, as Linux.
pub fn wake_op(encoded: u32, old: u32) -> Result<(u32, bool), Errno> {
    let op = (encoded >> 28) & 7;
    let shift_arg = encoded >> 31 != 0;
    let cmp = (encoded >> 24) & 15;
    // Both arguments are 12-bit signed fields.
    let sext = |v: u32| ((v << 20) as i32) >> 20;
    let mut oparg = sext((encoded >> 12) & 0xfff);
    let cmparg = sext(encoded & 0xfff);
    if shift_arg {
        // Linux masks the shift to 0..31 (and warns on an out-of-range one).
        oparg = 1i32.wrapping_shl((oparg & 31) as u32);
    }
    let arg = oparg as u32;
    let new = match op {
        0 => arg,                   // SET
        1 => old.wrapping_add(arg), // ADD
        2 => old | arg,             // OR
        3 => old & !arg,            // ANDN
        4 => old ^ arg,             // XOR
        _ => return Err(e::ENOSYS),
    };
    let (o, c) = (old as i32, cmparg);
    let wake = match cmp {
        0 => o == c,
        1 => o != c,
        2 => o < c,
        3 => o <= c,
        4 => o > c,
        5 => o >= c,
        _ => return Err(e::ENOSYS),
    };
    Ok((new, wake))
}

/// A robust futex word whose owner `tid` died: the new value (its waiters bit kept, the
/// owner-died bit set, no owner) and whether a waiter must be woken; `None` if `tid` does not
/// own it (Linux's `handle_futex_death`).
pub fn owner_died(word: u32, tid: u32) -> Option<(u32, bool)> {
    if word & TID_MASK != tid {
        return None;
    }
    Some(((word & WAITERS) | OWNER_DIED, word & WAITERS != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `FUTEX_OP(op, oparg, cmp, cmparg)` as `<linux/futex.h>` builds it.
    fn encode(op: u32, oparg: i32, cmp: u32, cmparg: i32) -> u32 {
        ((op & 0xf) << 28)
            | ((cmp & 0xf) << 24)
            | (((oparg as u32) & 0xfff) << 12)
            | ((cmparg as u32) & 0xfff)
    }

    #[test]
    fn decodes_the_operations_glibc_and_musl_use() {
        assert_eq!(
            decode(WAIT | PRIVATE, 0),
            Ok(Cmd::Wait {
                bitset: MATCH_ANY,
                absolute: false,
                realtime: false
            })
        );
        assert_eq!(
            decode(WAIT_BITSET | PRIVATE | CLOCK_REALTIME, MATCH_ANY),
            Ok(Cmd::Wait {
                bitset: MATCH_ANY,
                absolute: true,
                realtime: true
            })
        );
        assert_eq!(
            decode(WAKE | PRIVATE, 0),
            Ok(Cmd::Wake { bitset: MATCH_ANY })
        );
        assert_eq!(decode(WAKE_BITSET, 6), Ok(Cmd::Wake { bitset: 6 }));
        assert_eq!(
            decode(CMP_REQUEUE | PRIVATE, 0),
            Ok(Cmd::Requeue { cmp: true })
        );
        assert_eq!(decode(WAKE_OP, 0), Ok(Cmd::WakeOp));
        assert_eq!(decode(WAIT_BITSET, 0), Err(e::EINVAL));
        assert_eq!(decode(WAKE | CLOCK_REALTIME, 0), Err(e::ENOSYS));
        assert_eq!(decode(6, 0), Err(e::ENOSYS)); // FUTEX_LOCK_PI
    }

    #[test]
    fn wake_op_applies_and_compares_like_linux() {
        // glibc's pthread_cond_signal of old: FUTEX_OP_CLEAR_WAKE_IF_GT_ONE.
        let clear_if_gt_one = encode(0, 0, 4, 1);
        assert_eq!(wake_op(clear_if_gt_one, 2), Ok((0, true)));
        assert_eq!(wake_op(clear_if_gt_one, 1), Ok((0, false)));
        assert_eq!(wake_op(encode(1, 5, 0, 7), 7), Ok((12, true)));
        assert_eq!(wake_op(encode(1, -1, 2, 0), 0), Ok((u32::MAX, false)));
        assert_eq!(wake_op(encode(2, 0x10, 1, 3), 1), Ok((0x11, true)));
        assert_eq!(wake_op(encode(3, 1, 5, 0), 3), Ok((2, true)));
        assert_eq!(wake_op(encode(4, 3, 3, -1), 1), Ok((2, false)));
        // FUTEX_OP_OPARG_SHIFT: the argument is 1 << oparg.
        assert_eq!(wake_op(encode(8 | 2, 4, 0, 0), 0), Ok((16, true)));
        assert_eq!(wake_op(encode(5, 0, 0, 0), 0), Err(e::ENOSYS));
        assert_eq!(wake_op(encode(0, 0, 6, 0), 0), Err(e::ENOSYS));
    }

    #[test]
    fn a_dead_owner_releases_its_robust_futexes_only() {
        assert_eq!(owner_died(42, 42), Some((OWNER_DIED, false)));
        assert_eq!(
            owner_died(42 | WAITERS, 42),
            Some((WAITERS | OWNER_DIED, true))
        );
        assert_eq!(owner_died(43 | WAITERS, 42), None);
        assert_eq!(owner_died(0, 42), None);
    }
}
