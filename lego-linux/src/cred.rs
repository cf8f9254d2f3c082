//! A process's credentials: real, effective, saved and filesystem user and group ids and the
//! supplementary groups, with Linux's rules for changing them (`kernel/sys.c`). Privilege is
//! an effective uid of 0 (the capabilities root has; there are no others here). Programs
//! start as root, as `lego run` runs them; nothing checks file permissions against the ids,
//! but a program that drops privileges sees what Linux would show it.

extern crate alloc;

use alloc::vec::Vec;

use crate::errno::{self as e, Errno};

/// `-1` as an id argument: leave this one.
pub const UNCHANGED: u32 = u32::MAX;
/// Most supplementary groups (Linux's `NGROUPS_MAX`).
pub const NGROUPS_MAX: usize = 65536;

/// One kind of id (user or group): real, effective, saved, filesystem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    /// Real.
    pub real: u32,
    /// Effective.
    pub effective: u32,
    /// Saved set-id.
    pub saved: u32,
    /// Filesystem.
    pub fs: u32,
}

impl Ids {
    fn is_one_of(&self, id: u32) -> bool {
        id == self.real || id == self.effective || id == self.saved
    }

    /// `setuid`/`setgid`: privileged sets all four, else the effective (and fs) id to the
    /// real or saved one.
    fn set(&mut self, id: u32, privileged: bool) -> Result<(), Errno> {
        if id == UNCHANGED {
            return Err(e::EINVAL);
        }
        if privileged {
            *self = Ids {
                real: id,
                effective: id,
                saved: id,
                fs: id,
            };
        } else if id == self.real || id == self.saved {
            self.effective = id;
            self.fs = id;
        } else {
            return Err(e::EPERM);
        }
        Ok(())
    }

    /// `setreuid`/`setregid`.
    fn set_re(&mut self, real: u32, effective: u32, privileged: bool) -> Result<(), Errno> {
        let old = *self;
        if !privileged {
            if real != UNCHANGED && real != old.real && real != old.effective {
                return Err(e::EPERM);
            }
            if effective != UNCHANGED && !old.is_one_of(effective) {
                return Err(e::EPERM);
            }
        }
        if real != UNCHANGED {
            self.real = real;
        }
        if effective != UNCHANGED {
            self.effective = effective;
        }
        if real != UNCHANGED || (effective != UNCHANGED && effective != old.real) {
            self.saved = self.effective;
        }
        self.fs = self.effective;
        Ok(())
    }

    /// `setresuid`/`setresgid`.
    fn set_res(&mut self, r: u32, eff: u32, s: u32, privileged: bool) -> Result<(), Errno> {
        if !privileged
            && [r, eff, s]
                .iter()
                .any(|&x| x != UNCHANGED && !self.is_one_of(x))
        {
            return Err(e::EPERM);
        }
        if r != UNCHANGED {
            self.real = r;
        }
        if eff != UNCHANGED {
            self.effective = eff;
        }
        if s != UNCHANGED {
            self.saved = s;
        }
        self.fs = self.effective;
        Ok(())
    }

    /// `setfsuid`/`setfsgid`: returns the old fs id; changes it only if allowed.
    fn set_fs(&mut self, id: u32, privileged: bool) -> u32 {
        let old = self.fs;
        if id != UNCHANGED && (privileged || self.is_one_of(id) || id == self.fs) {
            self.fs = id;
        }
        old
    }
}

/// A process's credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    /// User ids.
    pub uid: Ids,
    /// Group ids.
    pub gid: Ids,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

impl Cred {
    /// Root, as programs start.
    pub fn root() -> Cred {
        Cred::default()
    }

    /// Whether the process holds root's privileges (effective uid 0).
    pub fn privileged(&self) -> bool {
        self.uid.effective == 0
    }

    /// `setuid`.
    pub fn setuid(&mut self, id: u32) -> Result<(), Errno> {
        let p = self.privileged();
        self.uid.set(id, p)
    }

    /// `setgid`.
    pub fn setgid(&mut self, id: u32) -> Result<(), Errno> {
        let p = self.privileged();
        self.gid.set(id, p)
    }

    /// `setreuid`.
    pub fn setreuid(&mut self, r: u32, eff: u32) -> Result<(), Errno> {
        let p = self.privileged();
        self.uid.set_re(r, eff, p)
    }

    /// `setregid`.
    pub fn setregid(&mut self, r: u32, eff: u32) -> Result<(), Errno> {
        let p = self.privileged();
        self.gid.set_re(r, eff, p)
    }

    /// `setresuid`.
    pub fn setresuid(&mut self, r: u32, eff: u32, s: u32) -> Result<(), Errno> {
        let p = self.privileged();
        self.uid.set_res(r, eff, s, p)
    }

    /// `setresgid`.
    pub fn setresgid(&mut self, r: u32, eff: u32, s: u32) -> Result<(), Errno> {
        let p = self.privileged();
        self.gid.set_res(r, eff, s, p)
    }

    /// `setfsuid`: the old fs uid.
    pub fn setfsuid(&mut self, id: u32) -> u32 {
        let p = self.privileged();
        self.uid.set_fs(id, p)
    }

    /// `setfsgid`: the old fs gid.
    pub fn setfsgid(&mut self, id: u32) -> u32 {
        let p = self.privileged();
        self.gid.set_fs(id, p)
    }

    /// `setgroups`: root only, at most [`NGROUPS_MAX`].
    pub fn setgroups(&mut self, groups: Vec<u32>) -> Result<(), Errno> {
        if groups.len() > NGROUPS_MAX {
            return Err(e::EINVAL);
        }
        if !self.privileged() {
            return Err(e::EPERM);
        }
        self.groups = groups;
        Ok(())
    }

    /// `getgroups(size, ...)`: how many groups to copy out (all of them), or the count alone
    /// for a size of 0; `EINVAL` for a negative size or one too small.
    pub fn getgroups(&self, size: i32) -> Result<usize, Errno> {
        let n = self.groups.len();
        match size {
            s if s < 0 => Err(e::EINVAL),
            0 => Ok(n),
            s if (s as usize) < n => Err(e::EINVAL),
            _ => Ok(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn root_drops_privileges_for_good_with_setuid() {
        let mut c = Cred::root();
        c.setuid(1000).unwrap();
        assert_eq!(
            c.uid,
            Ids {
                real: 1000,
                effective: 1000,
                saved: 1000,
                fs: 1000
            }
        );
        assert_eq!(c.setuid(0), Err(e::EPERM));
        assert_eq!(c.setgid(5), Err(e::EPERM));
        assert_eq!(c.setgroups(alloc::vec![1]), Err(e::EPERM));
    }

    #[test]
    fn a_saved_root_can_come_back() {
        let mut c = Cred::root();
        c.setresuid(UNCHANGED, 1000, UNCHANGED).unwrap();
        assert_eq!((c.uid.real, c.uid.effective, c.uid.saved), (0, 1000, 0));
        assert!(!c.privileged());
        c.setuid(0).unwrap();
        assert!(c.privileged());
        assert_eq!(c.uid.real, 0);
    }

    #[test]
    fn setreuid_moves_the_saved_id_like_linux() {
        let mut c = Cred::root();
        // Only the effective id changes, to something other than the real one: saved follows.
        c.setreuid(UNCHANGED, 7).unwrap();
        assert_eq!(
            (c.uid.real, c.uid.effective, c.uid.saved, c.uid.fs),
            (0, 7, 7, 7)
        );
        // Unprivileged: the effective id may go back to the real one.
        c.setreuid(UNCHANGED, 0).unwrap();
        assert_eq!(c.uid.effective, 0);
    }

    #[test]
    fn groups_and_fs_ids() {
        let mut c = Cred::root();
        assert_eq!(c.getgroups(0), Ok(0));
        c.setgroups(alloc::vec![4, 5]).unwrap();
        assert_eq!(c.getgroups(0), Ok(2));
        assert_eq!(c.getgroups(1), Err(e::EINVAL));
        assert_eq!(c.getgroups(-1), Err(e::EINVAL));
        assert_eq!(c.getgroups(8), Ok(2));
        assert_eq!(c.setfsuid(33), 0);
        assert_eq!(c.setfsuid(UNCHANGED), 33);
        assert_eq!(c.uid.fs, 33);
        assert_eq!(c.setuid(UNCHANGED), Err(e::EINVAL));
    }

    proptest! {
        /// Without privilege no change ever yields an id the process did not already hold.
        #[test]
        fn unprivileged_changes_never_gain_ids(
            start in (1u32..5, 1u32..5, 1u32..5),
            ops in prop::collection::vec((0u8..4, 0u32..6, 0u32..6, 0u32..6), 1..20),
        ) {
            let mut c = Cred::root();
            c.uid = Ids { real: start.0, effective: start.1, saved: start.2, fs: start.1 };
            let held = [start.0, start.1, start.2];
            for (op, a, b, d) in ops {
                let pick = |x: u32| if x == 5 { UNCHANGED } else { x };
                let _ = match op {
                    0 => c.setuid(pick(a)),
                    1 => c.setreuid(pick(a), pick(b)),
                    2 => c.setresuid(pick(a), pick(b), pick(d)),
                    _ => {
                        c.setfsuid(pick(a));
                        Ok(())
                    }
                };
                for id in [c.uid.real, c.uid.effective, c.uid.saved, c.uid.fs] {
                    prop_assert!(held.contains(&id), "{:?} gained {}", c.uid, id);
                }
            }
        }
    }
}
