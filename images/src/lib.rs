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

#[cfg(test)]
mod watch_tests {
    /// The build script must watch every workspace crate the guests depend on, or editing one
    /// would leave stale images behind.
    #[test]
    fn watched_covers_guest_dependencies() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let script = std::fs::read_to_string(root.join("images/build.rs")).unwrap();
        let mut todo = vec![
            "guest-pmon".to_string(),
            "guest-mmon".into(),
            "guest-smon".into(),
        ];
        let mut seen = Vec::new();
        while let Some(c) = todo.pop() {
            if seen.contains(&c) {
                continue;
            }
            assert!(
                script.contains(&format!("\"{c}\"")),
                "images/build.rs does not watch {c}"
            );
            let manifest = std::fs::read_to_string(root.join(&c).join("Cargo.toml")).unwrap();
            let deps = manifest
                .split("[dependencies]")
                .nth(1)
                .unwrap_or("")
                .split("\n[")
                .next()
                .unwrap_or("");
            for line in deps.lines() {
                let name = line.split(['.', ' ', '=']).next().unwrap_or("").trim();
                if !name.is_empty() && root.join(name).join("Cargo.toml").exists() {
                    todo.push(name.to_string());
                }
            }
            seen.push(c);
        }
        assert!(seen.len() >= 6, "walked {seen:?}");
    }
}
