//! The test programs: unmodified static Linux executables built from `testprogs/c/*.c` with
//! `musl-gcc -static` (`NAME-musl`) and `gcc -static` (`NAME-glibc`), and from
//! `testprogs/rust` for `x86_64-unknown-linux-musl` (`rust-hello`). The integration tests run
//! them on clusters and natively on the host, and compare.

use std::path::PathBuf;

/// The path of built program `name` (e.g. `sort-musl`).
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("OUT_DIR")).join(name)
}
