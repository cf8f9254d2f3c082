//! A process's resource limits (`getrlimit`, `setrlimit`, `prlimit64`) with Linux's rules
//! for changing them. The monitor enforces `RLIMIT_NOFILE` (the descriptor table's size);
//! the others are kept and reported.

use crate::abi::resource::{RLIM_INFINITY, Rlimit};
use crate::errno::{self as e, Errno};

/// Resources (`RLIMIT_*`): 0..16.
pub const RLIM_NLIMITS: usize = 16;
/// `RLIMIT_STACK`.
pub const RLIMIT_STACK: usize = 3;
/// `RLIMIT_NOFILE`.
pub const RLIMIT_NOFILE: usize = 7;
/// `RLIMIT_SIGPENDING`.
const RLIMIT_SIGPENDING: usize = 11;
/// `RLIMIT_MSGQUEUE`.
const RLIMIT_MSGQUEUE: usize = 12;
/// `RLIMIT_MEMLOCK`.
const RLIMIT_MEMLOCK: usize = 8;
/// `RLIMIT_NPROC`.
const RLIMIT_NPROC: usize = 6;
/// `RLIMIT_CORE`.
const RLIMIT_CORE: usize = 4;

/// The limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    lims: [Rlimit; RLIM_NLIMITS],
    /// The most descriptors the table can hold (`RLIMIT_NOFILE`'s hard ceiling, Linux's
    /// `nr_open`).
    nr_open: u64,
}

impl Limits {
    /// A new process's limits, as a default Linux gives them; `nr_open`: the descriptor
    /// table's size.
    pub fn new(nr_open: u64) -> Limits {
        let inf = Rlimit {
            rlim_cur: RLIM_INFINITY,
            rlim_max: RLIM_INFINITY,
        };
        let mut lims = [inf; RLIM_NLIMITS];
        lims[RLIMIT_STACK].rlim_cur = 8 << 20;
        lims[RLIMIT_CORE].rlim_cur = 0;
        lims[RLIMIT_NOFILE] = Rlimit {
            rlim_cur: nr_open,
            rlim_max: nr_open,
        };
        lims[RLIMIT_MEMLOCK] = Rlimit {
            rlim_cur: 8 << 20,
            rlim_max: 8 << 20,
        };
        for r in [RLIMIT_NPROC, RLIMIT_SIGPENDING] {
            lims[r] = Rlimit {
                rlim_cur: 63_413,
                rlim_max: 63_413,
            };
        }
        lims[RLIMIT_MSGQUEUE] = Rlimit {
            rlim_cur: 819_200,
            rlim_max: 819_200,
        };
        Limits { lims, nr_open }
    }

    /// `resource`'s limit; `EINVAL` for an unknown resource.
    pub fn get(&self, resource: u64) -> Result<Rlimit, Errno> {
        self.lims.get(resource as usize).copied().ok_or(e::EINVAL)
    }

    /// Sets `resource`'s limit: the soft one at most the hard one (`EINVAL`), the hard one
    /// raised only with privilege (`EPERM`), descriptors at most the table's size (`EPERM`).
    pub fn set(&mut self, resource: u64, new: Rlimit, privileged: bool) -> Result<(), Errno> {
        let old = self.get(resource)?;
        if new.rlim_cur > new.rlim_max {
            return Err(e::EINVAL);
        }
        if new.rlim_max > old.rlim_max && !privileged {
            return Err(e::EPERM);
        }
        if resource as usize == RLIMIT_NOFILE && new.rlim_max > self.nr_open {
            return Err(e::EPERM);
        }
        self.lims[resource as usize] = new;
        Ok(())
    }

    /// The soft limit on descriptors, as a table size.
    pub fn nofile(&self) -> usize {
        self.lims[RLIMIT_NOFILE].rlim_cur.min(self.nr_open) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(cur: u64, max: u64) -> Rlimit {
        Rlimit {
            rlim_cur: cur,
            rlim_max: max,
        }
    }

    #[test]
    fn linux_rules_for_changing_limits() {
        let mut l = Limits::new(1024);
        assert_eq!(l.get(RLIMIT_NOFILE as u64), Ok(lim(1024, 1024)));
        assert_eq!(l.get(16), Err(e::EINVAL));
        assert_eq!(l.set(RLIMIT_NOFILE as u64, lim(10, 1024), false), Ok(()));
        assert_eq!(l.nofile(), 10);
        assert_eq!(
            l.set(RLIMIT_NOFILE as u64, lim(20, 10), false),
            Err(e::EINVAL)
        );
        assert_eq!(
            l.set(RLIMIT_NOFILE as u64, lim(10, 2048), true),
            Err(e::EPERM)
        );
        // Lowering the hard limit is for good without privilege.
        assert_eq!(l.set(RLIMIT_NOFILE as u64, lim(10, 100), false), Ok(()));
        assert_eq!(
            l.set(RLIMIT_NOFILE as u64, lim(10, 200), false),
            Err(e::EPERM)
        );
        assert_eq!(l.set(RLIMIT_NOFILE as u64, lim(10, 200), true), Ok(()));
        assert_eq!(l.get(RLIMIT_STACK as u64), Ok(lim(8 << 20, RLIM_INFINITY)));
        assert_eq!(l.set(2, lim(1 << 30, RLIM_INFINITY), false), Ok(()));
        assert_eq!(l.get(2), Ok(lim(1 << 30, RLIM_INFINITY)));
    }
}
