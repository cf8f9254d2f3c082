//! Helpers shared by the integration tests: they run the real `lego` binary, which boots real
//! guests on /dev/kvm.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub mod cluster;

/// The `lego` binary under test.
pub fn lego() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lego"))
}

/// Fails the test with one clear line when /dev/kvm cannot be used: these tests must never pass
/// without booting guests.
pub fn require_kvm() {
    let dev = std::env::var("LEGO_KVM_DEVICE").unwrap_or_else(|_| "/dev/kvm".into());
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(Path::new(&dev))
    {
        panic!(
            "{dev} is missing or unusable ({e}): the integration tests boot real guests and need KVM"
        );
    }
}

/// Runs `lego` with `args`; returns its output.
pub fn run(args: &[&str]) -> Output {
    lego()
        .args(args)
        .output()
        .expect("cannot run the lego binary")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `lego boot ... --json -q` and parses the report; panics with the output on failure.
pub fn boot_json(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["boot", "--json", "-q"];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(
        o.status.success(),
        "lego {args:?} failed: {}\n{}",
        o.status,
        stderr(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stdout(&o)))
}

/// Asserts a failed command printed exactly one line, starting `error: ` and containing `needle`,
/// and exited with `code`.
pub fn assert_one_line_error(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(o.status.code(), Some(code), "exit status; stderr: {err}");
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(lines[0].contains(needle), "expected `{needle}` in: {err}");
}
