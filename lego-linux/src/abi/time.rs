//! `timespec`, `timeval`, `timezone`, `tms` (`linux/time_types.h`, `linux/time.h`,
//! `linux/times.h`) and the clock ids.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Nanoseconds in a second.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Seconds and nanoseconds (`struct __kernel_timespec`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds (0..1 000 000 000 when valid).
    pub tv_nsec: i64,
}

impl Timespec {
    /// From nanoseconds.
    pub const fn from_nanos(ns: u64) -> Timespec {
        Timespec {
            tv_sec: (ns / NSEC_PER_SEC) as i64,
            tv_nsec: (ns % NSEC_PER_SEC) as i64,
        }
    }

    /// Whether a program's value is acceptable to `nanosleep` and friends: `tv_sec >= 0` and
    /// `0 <= tv_nsec < 1e9` (`EINVAL` otherwise).
    pub const fn is_valid(&self) -> bool {
        self.tv_sec >= 0 && self.tv_nsec >= 0 && self.tv_nsec < NSEC_PER_SEC as i64
    }

    /// In nanoseconds, if valid and representable.
    pub const fn to_nanos(&self) -> Option<u64> {
        if !self.is_valid() {
            return None;
        }
        match (self.tv_sec as u64).checked_mul(NSEC_PER_SEC) {
            Some(s) => s.checked_add(self.tv_nsec as u64),
            None => None,
        }
    }
}

/// Seconds and microseconds (`struct __kernel_old_timeval`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds.
    pub tv_usec: i64,
}

impl Timeval {
    /// From nanoseconds (truncated to microseconds).
    pub const fn from_nanos(ns: u64) -> Timeval {
        Timeval {
            tv_sec: (ns / NSEC_PER_SEC) as i64,
            tv_usec: ((ns % NSEC_PER_SEC) / 1000) as i64,
        }
    }
}

/// `struct timezone` (`gettimeofday`'s obsolete second argument).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Timezone {
    /// Minutes west of Greenwich.
    pub tz_minuteswest: i32,
    /// Type of DST correction.
    pub tz_dsttime: i32,
}

/// `struct tms` (`times`), in clock ticks (`AT_CLKTCK`, 100 a second).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Tms {
    /// User time.
    pub tms_utime: i64,
    /// System time.
    pub tms_stime: i64,
    /// User time of waited-for children.
    pub tms_cutime: i64,
    /// System time of waited-for children.
    pub tms_cstime: i64,
}

/// `struct itimerval` (`setitimer`, `getitimer`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Itimerval {
    /// The period after the first expiry (zero: once).
    pub it_interval: Timeval,
    /// Time to the next expiry (zero: disarmed).
    pub it_value: Timeval,
}

/// `ITIMER_REAL`: wall time, `SIGALRM`.
pub const ITIMER_REAL: u32 = 0;

impl Timeval {
    /// In nanoseconds; `None` unless 0 <= `tv_usec` < 1e6 and `tv_sec` >= 0.
    pub fn to_nanos(&self) -> Option<u64> {
        if self.tv_sec < 0 || !(0..1_000_000).contains(&self.tv_usec) {
            return None;
        }
        Some((self.tv_sec as u64).saturating_mul(NSEC_PER_SEC) + self.tv_usec as u64 * 1000)
    }
}

const _: () = assert!(size_of::<Itimerval>() == 32);
const _: () = assert!(size_of::<Timespec>() == 16);
const _: () = assert!(size_of::<Timeval>() == 16);
const _: () = assert!(size_of::<Timezone>() == 8);
const _: () = assert!(size_of::<Tms>() == 32);

/// Wall-clock time.
pub const CLOCK_REALTIME: i32 = 0;
/// Time since boot, not counting suspend, never set back.
pub const CLOCK_MONOTONIC: i32 = 1;
/// CPU time of the process.
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
/// CPU time of the thread.
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
/// Monotonic time without NTP adjustment.
pub const CLOCK_MONOTONIC_RAW: i32 = 4;
/// `CLOCK_REALTIME`, faster and coarser.
pub const CLOCK_REALTIME_COARSE: i32 = 5;
/// `CLOCK_MONOTONIC`, faster and coarser.
pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
/// Monotonic time counting suspend.
pub const CLOCK_BOOTTIME: i32 = 7;
/// `CLOCK_REALTIME` that wakes from suspend.
pub const CLOCK_REALTIME_ALARM: i32 = 8;
/// `CLOCK_BOOTTIME` that wakes from suspend.
pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
/// International atomic time.
pub const CLOCK_TAI: i32 = 11;
/// `clock_nanosleep`: the time is absolute.
pub const TIMER_ABSTIME: u32 = 1;
