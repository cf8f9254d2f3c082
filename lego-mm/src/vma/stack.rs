//! Page-fault classification and stack growth.

use core::ops::Range;

use super::{Vma, VmaTree};
use crate::{errno, page_down};

/// The access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A data read.
    Read,
    /// A data write.
    Write,
    /// An instruction fetch.
    Exec,
}

impl Access {
    /// The access of an x86 page-fault error code (bit 1: write, bit 4: instruction fetch).
    pub fn from_x86_error_code(code: u64) -> Access {
        if code & (1 << 4) != 0 {
            Access::Exec
        } else if code & (1 << 1) != 0 {
            Access::Write
        } else {
            Access::Read
        }
    }
}

/// Why an access faults for good: the program gets `SIGSEGV` with this `si_code` (or a
/// syscall that touched the address returns `EFAULT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// No mapping there (`SEGV_MAPERR`), including a stack that may not grow that far.
    MapErr,
    /// A mapping that does not allow the access (`SEGV_ACCERR`).
    AccErr,
}

impl Fault {
    /// The signal number, `SIGSEGV`.
    pub const SIGNAL: u32 = 11;

    /// The `si_code` of the `SIGSEGV`.
    pub fn si_code(&self) -> i32 {
        match self {
            Fault::MapErr => 1,
            Fault::AccErr => 2,
        }
    }

    /// What a syscall touching the address returns: `EFAULT`.
    pub fn errno(&self) -> u32 {
        errno::EFAULT
    }
}

/// A fault that a vma allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The vma (a copy; after any growth).
    pub vma: Vma,
    /// The range the stack grew by to cover the address, if it did.
    pub grown: Option<Range<u64>>,
}

impl Vma {
    /// Whether the vma allows `access`, with x86 page-table semantics: any protection but
    /// `PROT_NONE` can be read (there are no write-only or execute-only pages), a write needs
    /// `PROT_WRITE`, an instruction fetch `PROT_EXEC` (NX).
    pub fn allows(&self, access: Access) -> bool {
        use super::Prot;
        match access {
            Access::Read => !self.prot.is_none(),
            Access::Write => self.prot.contains(Prot::WRITE),
            Access::Exec => self.prot.contains(Prot::EXEC),
        }
    }
}

impl VmaTree {
    /// Classifies a fault at `addr`, as Linux's x86 fault handler: the vma containing `addr`,
    /// or the grows-down vma just above it extended down to cover it; then the access check.
    ///
    /// The stack grows (to the page of `addr`) only if the new size stays within the stack
    /// rlimit, the new start is not below `min_addr`, and it keeps the guard gap from the vma
    /// below unless that one is `PROT_NONE` or itself grows down (Linux 6.x; there is no check
    /// against the stack pointer any more). A growth that fails is [`Fault::MapErr`]; a
    /// growth that succeeds stays even if the access check then fails ([`Fault::AccErr`]),
    /// as in Linux.
    pub fn classify(&mut self, addr: u64, access: Access) -> Result<Hit, Fault> {
        let v = *self.find_from(addr).ok_or(Fault::MapErr)?;
        let (vma, grown) = if v.start <= addr {
            (v, None)
        } else {
            let grown = self.grow_stack(v, addr)?;
            (*self.find(addr).ok_or(Fault::MapErr)?, Some(grown))
        };
        if !vma.allows(access) {
            return Err(Fault::AccErr);
        }
        Ok(Hit { vma, grown })
    }

    /// Extends the grows-down vma `v` down to the page of `addr` (below `v.start`).
    fn grow_stack(&mut self, v: Vma, addr: u64) -> Result<Range<u64>, Fault> {
        let l = self.layout;
        let start = page_down(addr);
        if !v.flags.grows_down() || !v.is_anon() || start < l.min_addr {
            return Err(Fault::MapErr);
        }
        if v.end - start > l.stack_limit {
            return Err(Fault::MapErr);
        }
        if let Some((_, p)) = self.vmas.range(..v.start).next_back()
            && !p.flags.grows_down()
            && !p.prot.is_none()
            && start - p.end < l.guard_gap
        {
            return Err(Fault::MapErr);
        }
        let piece = Vma {
            start,
            end: v.start,
            ..v
        };
        // Only merges: the count cannot grow.
        self.rewrite(start, v.start, &[piece])
            .map_err(|_| Fault::MapErr)?;
        Ok(start..v.start)
    }
}
