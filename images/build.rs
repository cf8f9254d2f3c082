//! Builds the three monitor images with a nested `cargo build --target x86_64-unknown-none`
//! (profile `guest`) into `target/guest`, so a plain `cargo build` or `cargo test` on a fresh
//! checkout has them. A separate target directory keeps the nested build off the outer build's
//! lock.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_TARGET: &str = "x86_64-unknown-none";
const GUESTS: [&str; 3] = ["guest-pmon", "guest-mmon", "guest-smon"];
/// Everything the guest images are built from: the guest crates and every workspace crate they
/// depend on. (A new dependency must be added here, or edits to it would not rebuild the images;
/// `watched_covers_guest_dependencies` in the tests checks this list against Cargo.toml.)
const WATCHED: [&str; 15] = [
    "guest-rt",
    "guest-pmon",
    "guest-mmon",
    "guest-smon",
    "lego-abi",
    "lego-proto",
    "lego-rpc",
    "virtio-rdma",
    "lego-fs",
    "lego-bcache",
    "lego-linux",
    "lego-mm",
    "lego-excache",
    ".cargo/config.toml",
    "Cargo.lock",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    for w in WATCHED {
        println!("cargo:rerun-if-changed={}", root.join(w).display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"))
        .join("guest");
    let mut output = build(&root, &target_dir);
    if !output.status.success() && missing_target(&output.stderr) && add_target() {
        output = build(&root, &target_dir);
    }
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if missing_target(&output.stderr) {
            fail(&format!(
                "the guest images need the {GUEST_TARGET} Rust target: run `rustup target add {GUEST_TARGET}` \
                 (or `rustup toolchain install` in the repository)"
            ));
        }
        fail(&format!("building the guest images failed:\n{stderr}"));
    }
    for g in GUESTS {
        let built = target_dir.join(GUEST_TARGET).join("guest").join(g);
        if let Err(e) = std::fs::copy(&built, out.join(g)) {
            fail(&format!("cannot copy {}: {e}", built.display()));
        }
    }
}

fn missing_target(stderr: &[u8]) -> bool {
    let s = String::from_utf8_lossy(stderr);
    s.contains("target may not be installed") || s.contains("can't find crate for `core`")
}

/// A fresh checkout has the pinned toolchain but maybe not its guest target: add it once, the
/// way `rustup toolchain install` would from rust-toolchain.toml.
fn add_target() -> bool {
    println!("cargo:warning=installing the {GUEST_TARGET} target with rustup");
    Command::new("rustup")
        .args(["target", "add", GUEST_TARGET])
        .status()
        .is_ok_and(|s| s.success())
}

fn build(root: &Path, target_dir: &Path) -> std::process::Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--profile", "guest", "--target", GUEST_TARGET])
        .args(GUESTS.iter().flat_map(|g| ["-p", g]))
        .env("CARGO_TARGET_DIR", target_dir)
        // The outer build's flags and wrappers (clippy, coverage) are for the host.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET");
    match cmd.output() {
        Ok(o) => o,
        Err(e) => fail(&format!("cannot run cargo to build the guest images: {e}")),
    }
}

fn fail(msg: &str) -> ! {
    // A build script reports failure by exiting non-zero; a panic would add a backtrace.
    eprintln!("error: {msg}");
    #[allow(clippy::exit)]
    std::process::exit(1)
}
