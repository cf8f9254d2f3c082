//! `docs/syscalls.md` is `lego_linux::support`'s table rendered, and the table names exactly
//! the syscalls `guest-pmon` dispatches (every `nr::NAME` its sources mention). Run with
//! `LEGO_BLESS=1` to rewrite the document after changing the table.

// A test: a failure to read the sources is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lego_linux::support::{TABLE, render_markdown};
use lego_linux::sysno;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_document_is_the_table_rendered() {
    let path = root().join("docs/syscalls.md");
    let want = render_markdown();
    if std::env::var_os("LEGO_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/syscalls.md is out of date: LEGO_BLESS=1 cargo test -p lego-linux --test syscall_support"
    );
}

#[test]
fn the_table_names_real_syscalls_once() {
    let mut seen = BTreeSet::new();
    for (name, _) in TABLE {
        assert!(
            sysno::ALL.iter().any(|(_, n)| n == name),
            "{name} is not a syscall"
        );
        assert!(seen.insert(*name), "{name} is listed twice");
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_table_is_what_the_process_monitor_dispatches() {
    let mut files = Vec::new();
    rust_files(&root().join("guest-pmon/src"), &mut files);
    let mut used = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, _) in text.match_indices("nr::") {
            let rest = &text[i + 4..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            let konst = &rest[..end];
            if konst.is_empty() {
                continue;
            }
            let name = konst.to_ascii_lowercase();
            if sysno::ALL.iter().any(|(_, n)| *n == name) {
                used.insert(name);
            }
        }
    }
    let listed: BTreeSet<String> = TABLE.iter().map(|(n, _)| n.to_string()).collect();
    let missing: Vec<_> = used.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&used).collect();
    assert!(
        missing.is_empty(),
        "guest-pmon handles these, add them to lego_linux::support::TABLE: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "lego_linux::support::TABLE lists these, guest-pmon does not handle them: {stale:?}"
    );
}
