//! What the pComponent does on an ExCache miss, as a pure function.
//!
//! The pComponent keeps, per process, a copy of the vmas (LegoOS's §4.4.2 relaxation: the
//! range and permission of anonymous regions) and a [`TouchedPages`] set. On a miss:
//!
//! * no vma, or one that does not allow the access: `SIGSEGV` with `SEGV_MAPERR` or
//!   `SEGV_ACCERR` (a miss below a grows-down stack must go to the home first, which may grow
//!   it: [`crate::VmaTree::classify`]);
//! * an anonymous page never flushed nor fetched: a zero-filled line, locally (p-local);
//! * anything else: fetch the line from the vRegion's owner.
//!
//! The line gets the vma's protection (write only if the vma is writable).

pub use crate::touched::TouchedPages;
pub use crate::vma::{Access, Fault};
use crate::{Prot, Vma};

/// What to do about a miss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Fill the line with zeros locally; map it with `prot`.
    ZeroFill {
        /// The line's protection.
        prot: Prot,
    },
    /// Fetch the line from the owner; map it with `prot`.
    Fetch {
        /// The line's protection.
        prot: Prot,
    },
    /// Deliver `SIGSEGV` with this code.
    Signal(Fault),
}

/// The action for a miss at `va` with `access`, given the vma containing `va` (`None` if
/// none) and the process's touched set.
pub fn resolve(vma: Option<&Vma>, va: u64, access: Access, touched: &TouchedPages) -> Action {
    let Some(v) = vma.filter(|v| v.contains(va)) else {
        return Action::Signal(Fault::MapErr);
    };
    if !v.allows(access) {
        return Action::Signal(Fault::AccErr);
    }
    if v.is_anon() && !touched.contains(va) {
        Action::ZeroFill { prot: v.prot }
    } else {
        Action::Fetch { prot: v.prot }
    }
}
