//! Locks that are safe against interrupt handlers on the same CPU.

use core::ops::{Deref, DerefMut};

use crate::platform;

/// A spin lock that disables interrupts while held, so an interrupt handler that takes it
/// cannot deadlock against the code it interrupted.
#[derive(Debug)]
pub struct IrqMutex<T> {
    inner: spin::Mutex<T>,
}

/// Guard of an [`IrqMutex`]; restores the interrupt state when dropped.
#[derive(Debug)]
pub struct IrqGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    irq: bool,
}

impl<T> IrqMutex<T> {
    /// A new lock.
    pub const fn new(v: T) -> IrqMutex<T> {
        IrqMutex {
            inner: spin::Mutex::new(v),
        }
    }

    /// Disables interrupts and takes the lock.
    pub fn lock(&self) -> IrqGuard<'_, T> {
        let irq = platform::irq_save();
        IrqGuard {
            guard: Some(self.inner.lock()),
            irq,
        }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<IrqGuard<'_, T>> {
        let irq = platform::irq_save();
        match self.inner.try_lock() {
            Some(g) => Some(IrqGuard {
                guard: Some(g),
                irq,
            }),
            None => {
                platform::irq_restore(irq);
                None
            }
        }
    }
}

impl<T> Deref for IrqGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl<T> DerefMut for IrqGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_deref_mut().unwrap_or_else(|| unreachable!())
    }
}

impl<T> Drop for IrqGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        platform::irq_restore(self.irq);
    }
}
