//! Memory regions: permissions and the access check every one-sided operation passes before a
//! byte moves.

use super::cqe::WcStatus;

/// Peers may read the region.
pub const REMOTE_READ: u32 = 1 << 0;
/// Peers may write the region.
pub const REMOTE_WRITE: u32 = 1 << 1;
/// All permission bits.
pub const ALL_PERMS: u32 = REMOTE_READ | REMOTE_WRITE;

/// Tags name MRs so peers can find them (the fabric's connection manager). The high byte is the
/// kind, the low bytes its argument (e.g. which peer a ring is for).
pub mod tags {
    /// A queue-pair control block for peer `n`.
    pub const QPCB: u32 = 0x0100_0000;
    /// An RPC receive ring for requests from peer `n`.
    pub const RPC_RING: u32 = 0x0200_0000;
    /// A component's RPC reply slots.
    pub const RPC_REPLY: u32 = 0x0300_0000;
    /// Free for users and tests.
    pub const USER: u32 = 0x1000_0000;

    /// Tag `kind` for peer `peer`.
    pub const fn for_peer(kind: u32, peer: u32) -> u32 {
        kind | (peer & 0x00ff_ffff)
    }
}

/// A peer's MR as its owner registered it and the local VMM mapped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteMr {
    /// Owner component.
    pub peer: u32,
    /// Its key.
    pub rkey: u32,
    /// Start, in the owner's guest-physical addresses.
    pub addr: u64,
    /// Length.
    pub len: u64,
    /// [`REMOTE_READ`] / [`REMOTE_WRITE`].
    pub perms: u32,
    /// Where the local VMM mapped it in this guest's physical address space.
    pub window_gpa: u64,
}

/// What an operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// One-sided read.
    Read,
    /// One-sided write (or a SEND into a receive buffer).
    Write,
}

impl RemoteMr {
    /// Checks `[addr, addr + len)` (owner addresses) against the region, its key and its
    /// permissions; returns the offset into the window. Errors are what ibverbs reports.
    pub fn check(&self, rkey: u32, addr: u64, len: u64, access: Access) -> Result<u64, WcStatus> {
        if rkey != self.rkey {
            return Err(WcStatus::RemoteAccessError);
        }
        let need = match access {
            Access::Read => REMOTE_READ,
            Access::Write => REMOTE_WRITE,
        };
        if self.perms & need == 0 {
            return Err(WcStatus::RemoteAccessError);
        }
        let off = addr
            .checked_sub(self.addr)
            .ok_or(WcStatus::RemoteAccessError)?;
        let end = off.checked_add(len).ok_or(WcStatus::RemoteAccessError)?;
        if end > self.len {
            return Err(WcStatus::RemoteAccessError);
        }
        Ok(off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mr(perms: u32) -> RemoteMr {
        RemoteMr {
            peer: 1,
            rkey: 7,
            addr: 0x10_0000,
            len: 0x2000,
            perms,
            window_gpa: 0,
        }
    }

    #[test]
    fn inside_with_the_right_key_and_permission() {
        assert_eq!(
            mr(ALL_PERMS).check(7, 0x10_0000, 0x2000, Access::Write),
            Ok(0)
        );
        assert_eq!(
            mr(REMOTE_READ).check(7, 0x10_1000, 16, Access::Read),
            Ok(0x1000)
        );
    }

    #[test]
    fn every_violation_is_a_remote_access_error() {
        let e = Err(WcStatus::RemoteAccessError);
        assert_eq!(
            mr(ALL_PERMS).check(8, 0x10_0000, 1, Access::Read),
            e,
            "wrong key"
        );
        assert_eq!(
            mr(REMOTE_READ).check(7, 0x10_0000, 1, Access::Write),
            e,
            "read-only"
        );
        assert_eq!(
            mr(REMOTE_WRITE).check(7, 0x10_0000, 1, Access::Read),
            e,
            "write-only"
        );
        assert_eq!(
            mr(ALL_PERMS).check(7, 0xf_ffff, 1, Access::Read),
            e,
            "below"
        );
        assert_eq!(
            mr(ALL_PERMS).check(7, 0x10_1fff, 2, Access::Read),
            e,
            "past the end"
        );
        assert_eq!(
            mr(ALL_PERMS).check(7, u64::MAX, 2, Access::Read),
            e,
            "overflow"
        );
    }

    proptest::proptest! {
        #[test]
        fn accepted_ranges_are_inside(rkey in 6u32..9, addr in 0xf_0000u64..0x11_0000, len in 0u64..0x3000, w in proptest::bool::ANY) {
            let m = mr(ALL_PERMS);
            let a = if w { Access::Write } else { Access::Read };
            if let Ok(off) = m.check(rkey, addr, len, a) {
                proptest::prop_assert_eq!(rkey, 7);
                proptest::prop_assert!(off + len <= m.len);
                proptest::prop_assert_eq!(addr, m.addr + off);
            }
        }
    }
}
