//! The test programs: unmodified static Linux executables built from `testprogs/c/*.c` with
//! `musl-gcc -static` (`NAME-musl`) and `gcc -static` (`NAME-glibc`), and from
//! `testprogs/rust` for `x86_64-unknown-linux-musl` (`rust-hello`). The integration tests run
//! them on clusters and natively on the host, and compare.

use std::path::PathBuf;

/// The path of built program `name` (e.g. `sort-musl`).
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("OUT_DIR")).join(name)
}

/// The conformance suite's programs (`testprogs/conformance/FAMILY_NAME.c`), as
/// `(family, name)` pairs sorted by file name; each is built as `conf-FAMILY_NAME-musl` and
/// `conf-FAMILY_NAME-glibc`.
pub fn conformance() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let mut v: Vec<(String, String)> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    let stem = p.file_stem()?.to_str()?.to_string();
                    (p.extension()? == "c").then_some(stem)
                })
                .filter_map(|stem| {
                    let (family, _) = stem.split_once('_')?;
                    Some((family.to_string(), stem.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    v
}
