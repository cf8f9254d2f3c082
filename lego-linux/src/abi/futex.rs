//! `futex` operations and flags (`linux/futex.h`), for when threads come.

/// Wait while `*uaddr == val`.
pub const FUTEX_WAIT: u32 = 0;
/// Wake up to `val` waiters.
pub const FUTEX_WAKE: u32 = 1;
/// Requeue waiters to another futex.
pub const FUTEX_REQUEUE: u32 = 3;
/// Requeue if `*uaddr == val3`.
pub const FUTEX_CMP_REQUEUE: u32 = 4;
/// Modify a second futex and wake on both.
pub const FUTEX_WAKE_OP: u32 = 5;
/// Priority-inheritance lock.
pub const FUTEX_LOCK_PI: u32 = 6;
/// Priority-inheritance unlock.
pub const FUTEX_UNLOCK_PI: u32 = 7;
/// Priority-inheritance try-lock.
pub const FUTEX_TRYLOCK_PI: u32 = 8;
/// Wait with a bitset (absolute timeout).
pub const FUTEX_WAIT_BITSET: u32 = 9;
/// Wake with a bitset.
pub const FUTEX_WAKE_BITSET: u32 = 10;
/// Process-private futex (no shared-memory lookup).
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
/// Timeouts are `CLOCK_REALTIME`.
pub const FUTEX_CLOCK_REALTIME: u32 = 256;
/// The operation without its flags.
pub const FUTEX_CMD_MASK: u32 = !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
/// `FUTEX_WAIT | FUTEX_PRIVATE_FLAG`.
pub const FUTEX_WAIT_PRIVATE: u32 = FUTEX_WAIT | FUTEX_PRIVATE_FLAG;
/// `FUTEX_WAKE | FUTEX_PRIVATE_FLAG`.
pub const FUTEX_WAKE_PRIVATE: u32 = FUTEX_WAKE | FUTEX_PRIVATE_FLAG;
/// Robust futex word: there are waiters.
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
/// Robust futex word: the owner died.
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// Robust futex word: the owner's thread id.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// A bitset matching every waiter.
pub const FUTEX_BITSET_MATCH_ANY: u32 = 0xffff_ffff;
