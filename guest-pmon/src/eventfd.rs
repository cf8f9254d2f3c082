//! An eventfd shared by the descriptors (and forked children) that refer to it; the counter's
//! rules are `lego_linux::eventfd`'s.

extern crate alloc;

use alloc::sync::Arc;

use lego_linux::eventfd::Counter;
use spin::Mutex;

/// One eventfd.
#[derive(Clone, Debug)]
pub struct EventFd(Arc<Mutex<Counter>>);

impl EventFd {
    /// A new eventfd.
    pub fn new(c: Counter) -> EventFd {
        EventFd(Arc::new(Mutex::new(c)))
    }

    /// Runs `f` on the counter.
    pub fn with<R>(&self, f: impl FnOnce(&mut Counter) -> R) -> R {
        f(&mut self.0.lock())
    }
}

impl PartialEq for EventFd {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for EventFd {}
