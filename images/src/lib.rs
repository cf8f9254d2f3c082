//! The monitor guest images, built by this crate's build script and embedded, so the `lego`
//! binary is self-contained.

use lego_abi::Role;

/// The process monitor image.
pub static PMON: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-pmon"));
/// The memory monitor image.
pub static MMON: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-mmon"));
/// The storage monitor image.
pub static SMON: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-smon"));

/// The built-in image for a role.
pub fn for_role(role: Role) -> &'static [u8] {
    match role {
        Role::Pmon => PMON,
        Role::Mmon => MMON,
        Role::Smon => SMON,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_x86_64_executables() {
        for r in Role::ALL {
            let b = for_role(r);
            assert_eq!(&b[..4], b"\x7fELF", "{r:?}");
            assert_eq!(u16::from_le_bytes([b[18], b[19]]), 62, "{r:?} machine");
            assert_eq!(u16::from_le_bytes([b[16], b[17]]), 2, "{r:?} type");
        }
    }
}
