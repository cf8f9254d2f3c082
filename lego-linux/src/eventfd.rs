//! An eventfd's counter (`eventfd(2)`): a write adds, a read takes the whole count (or one,
//! in semaphore mode); a read of zero or a write that would reach `u64::MAX` would block.

use crate::errno::{self as e, Errno};

/// `EFD_SEMAPHORE`.
pub const EFD_SEMAPHORE: u32 = 1;
/// The most the counter holds.
pub const MAX: u64 = u64::MAX - 1;

/// The counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    /// The count.
    pub count: u64,
    /// Semaphore mode: reads take one.
    pub semaphore: bool,
}

impl Counter {
    /// A counter starting at `init` with `eventfd2`'s `flags` (`EFD_SEMAPHORE`).
    pub fn new(init: u32, flags: u32) -> Counter {
        Counter {
            count: u64::from(init),
            semaphore: flags & EFD_SEMAPHORE != 0,
        }
    }

    /// A read: the value read, or `EAGAIN` when the count is 0 (the reader waits or fails).
    pub fn read(&mut self) -> Result<u64, Errno> {
        if self.count == 0 {
            return Err(e::EAGAIN);
        }
        let v = if self.semaphore { 1 } else { self.count };
        self.count -= v;
        Ok(v)
    }

    /// A write of `v`: `EINVAL` for `u64::MAX`, `EAGAIN` when the count would pass [`MAX`].
    pub fn write(&mut self, v: u64) -> Result<(), Errno> {
        if v == u64::MAX {
            return Err(e::EINVAL);
        }
        if MAX - self.count < v {
            return Err(e::EAGAIN);
        }
        self.count += v;
        Ok(())
    }

    /// Readable (`POLLIN`).
    pub fn readable(&self) -> bool {
        self.count > 0
    }

    /// Writable (`POLLOUT`): at least 1 can be added.
    pub fn writable(&self) -> bool {
        self.count < MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_semaphores_like_linux() {
        let mut c = Counter::new(3, 0);
        assert_eq!(c.read(), Ok(3));
        assert_eq!(c.read(), Err(e::EAGAIN));
        c.write(5).unwrap();
        c.write(2).unwrap();
        assert_eq!(c.read(), Ok(7));
        let mut s = Counter::new(2, EFD_SEMAPHORE);
        assert_eq!(
            (s.read(), s.read(), s.read()),
            (Ok(1), Ok(1), Err(e::EAGAIN))
        );
        let mut full = Counter::new(0, 0);
        assert_eq!(full.write(u64::MAX), Err(e::EINVAL));
        full.write(MAX).unwrap();
        assert!(!full.writable() && full.readable());
        assert_eq!(full.write(1), Err(e::EAGAIN));
    }
}
