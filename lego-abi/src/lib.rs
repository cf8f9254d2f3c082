//! The ABI between the VMM and the monitor guests it boots.
//!
//! One `no_std` crate, used by both sides (as uhyve does with `uhyve-interface`): what the VMM
//! writes into guest memory before the first instruction ([`boot`]), where it puts things
//! ([`layout`]), how the guest talks back ([`ports`], [`report`], [`console`]). Every structure
//! is `#[repr(C)]`, explicitly padded and checked by `zerocopy`, so both sides agree on the bytes.
#![no_std]

pub mod boot;
pub mod console;
pub mod layout;
pub mod ports;
pub mod report;
pub mod virtio_blk;
pub mod virtio_mmio;

/// Bumped on any incompatible change to a structure in this crate. The guest refuses to boot on
/// a boot info whose version it does not know, and the VMM refuses reports from another version.
pub const ABI_VERSION: u32 = 2;

/// A component's role in the cluster: which monitor runs in the guest.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Processor component: runs user threads, holds the ExCache.
    Pmon = 1,
    /// Memory component: holds user memory and the buffer cache.
    Mmon = 2,
    /// Storage component: holds files on its virtual disk.
    Smon = 3,
}

impl Role {
    /// All roles, in the order the CLI lists them.
    pub const ALL: [Role; 3] = [Role::Pmon, Role::Mmon, Role::Smon];

    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> Option<Role> {
        match v {
            1 => Some(Role::Pmon),
            2 => Some(Role::Mmon),
            3 => Some(Role::Smon),
            _ => None,
        }
    }

    /// The short name used on the command line and in component names (`pmon`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Role::Pmon => "pmon",
            Role::Mmon => "mmon",
            Role::Smon => "smon",
        }
    }

    /// Parses a short name.
    pub fn from_name(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The one-letter prefix of component names (`p0`, `m1`, `s0`).
    pub fn letter(self) -> char {
        match self {
            Role::Pmon => 'p',
            Role::Mmon => 'm',
            Role::Smon => 's',
        }
    }
}

/// What the guest found it runs on.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Not yet detected.
    Unknown = 0,
    /// Ordinary KVM (VMX or SVM): CPL0 runs natively.
    Kvm = 1,
    /// KVM's PVM backend: CPL0 is emulated until the guest registers a VIF.
    Pvm = 2,
}

impl Platform {
    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> Platform {
        match v {
            1 => Platform::Kvm,
            2 => Platform::Pvm,
            _ => Platform::Unknown,
        }
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Unknown => "unknown",
            Platform::Kvm => "kvm",
            Platform::Pvm => "pvm",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_name(r.name()), Some(r));
            assert_eq!(Role::from_u32(r as u32), Some(r));
        }
        assert_eq!(Role::from_name("cpu"), None);
        assert_eq!(Role::from_u32(0), None);
    }
}
