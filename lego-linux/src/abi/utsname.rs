//! `struct new_utsname` (`linux/utsname.h`): what `uname` writes.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Length of each field, NUL included.
pub const UTS_LEN: usize = 65;

/// Six NUL-terminated strings of 65 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Utsname {
    /// Operating system name ("Linux": C libraries and programs test it).
    pub sysname: [u8; UTS_LEN],
    /// Host name.
    pub nodename: [u8; UTS_LEN],
    /// Kernel release ("6.1.0"; glibc no longer checks it, some programs parse it).
    pub release: [u8; UTS_LEN],
    /// Kernel version string.
    pub version: [u8; UTS_LEN],
    /// Machine ("x86_64").
    pub machine: [u8; UTS_LEN],
    /// NIS domain name.
    pub domainname: [u8; UTS_LEN],
}

const _: () = assert!(size_of::<Utsname>() == 6 * 65);

/// `s` as a field: at most 64 bytes, cut at the first NUL, zero-padded.
fn field(s: &[u8]) -> [u8; UTS_LEN] {
    let mut f = [0; UTS_LEN];
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    let n = s.len().min(UTS_LEN - 1);
    f[..n].copy_from_slice(&s[..n]);
    f
}

impl Utsname {
    /// From the six strings (longer ones are cut to 64 bytes).
    pub fn new(
        sysname: &[u8],
        nodename: &[u8],
        release: &[u8],
        version: &[u8],
        machine: &[u8],
        domainname: &[u8],
    ) -> Utsname {
        Utsname {
            sysname: field(sysname),
            nodename: field(nodename),
            release: field(release),
            version: field(version),
            machine: field(machine),
            domainname: field(domainname),
        }
    }

    /// All zeros.
    pub fn zeroed() -> Utsname {
        FromZeros::new_zeroed()
    }
}
