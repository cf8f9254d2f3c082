//! Builds the test programs: every `c/*.c` with `musl-gcc -static` and `gcc -static`, and the
//! Rust program in `rust/` for `x86_64-unknown-linux-musl` (a nested cargo with its own target
//! directory, so it does not wait on the outer build's lock).

use std::path::{Path, PathBuf};
use std::process::Command;

const RUST_TARGET: &str = "x86_64-unknown-linux-musl";

fn fail(msg: &str) -> ! {
    // A build script reports failure by exiting non-zero; a panic would add a backtrace.
    eprintln!("error: {msg}");
    #[allow(clippy::exit)]
    std::process::exit(1)
}

fn cc(compiler: &str, src: &Path, out: &Path) {
    let o = Command::new(compiler)
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(out)
        .arg(src)
        .output();
    match o {
        Ok(o) if o.status.success() => {}
        Ok(o) => fail(&format!(
            "{compiler} failed on {}:\n{}",
            src.display(),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fail(&format!(
            "the test programs need `{compiler}` (Debian: `apt-get install musl-tools gcc libc6-dev`; \
             .ci/run installs them)"
        )),
        Err(e) => fail(&format!("cannot run {compiler}: {e}")),
    }
}

fn rust(manifest: &Path, root: &Path, out: &Path) {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"))
        .join("testprogs");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = || {
        Command::new(&cargo)
            .current_dir(root)
            .args([
                "build",
                "--release",
                "--target",
                RUST_TARGET,
                "--manifest-path",
            ])
            .arg(manifest)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("CARGO_BUILD_TARGET")
            .output()
    };
    let mut o = build().unwrap_or_else(|e| fail(&format!("cannot run cargo: {e}")));
    if !o.status.success()
        && String::from_utf8_lossy(&o.stderr).contains("target may not be installed")
    {
        println!("cargo:warning=installing the {RUST_TARGET} target with rustup");
        let _ = Command::new("rustup")
            .args(["target", "add", RUST_TARGET])
            .status();
        o = build().unwrap_or_else(|e| fail(&format!("cannot run cargo: {e}")));
    }
    if !o.status.success() {
        fail(&format!(
            "building the Rust test program for {RUST_TARGET} failed (`rustup target add \
             {RUST_TARGET}` installs the target):\n{}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let built = target_dir
        .join(RUST_TARGET)
        .join("release")
        .join("rust-hello");
    if let Err(e) = std::fs::copy(&built, out.join("rust-hello")) {
        fail(&format!("cannot copy {}: {e}", built.display()));
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let c = manifest.join("c");
    println!("cargo:rerun-if-changed={}", c.display());
    println!("cargo:rerun-if-changed={}", manifest.join("rust").display());
    for src in &c_files(&c) {
        let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("prog");
        cc("musl-gcc", src, &out.join(format!("{stem}-musl")));
        cc("gcc", src, &out.join(format!("{stem}-glibc")));
    }
    // The conformance suite: `conformance/FAMILY_NAME.c` -> `conf-FAMILY_NAME-{musl,glibc}`.
    let conf = manifest.join("conformance");
    println!("cargo:rerun-if-changed={}", conf.display());
    for src in &c_files(&conf) {
        let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("prog");
        cc("musl-gcc", src, &out.join(format!("conf-{stem}-musl")));
        cc("gcc", src, &out.join(format!("conf-{stem}-glibc")));
    }
    rust(&manifest.join("rust").join("Cargo.toml"), &root, &out);
}

/// The `.c` files of `dir`, sorted.
fn c_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", dir.display())))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    v.sort();
    v
}
