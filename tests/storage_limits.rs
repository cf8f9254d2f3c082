//! The sComponent's limits on real clusters: metadata that outgrows its memory is refused with a
//! clear error and mounts again after a restart with the same memory; disks up to 16 TiB boot
//! and serve; a damaged disk is refused and says so. Many checks per cluster (2-core host).

mod common;

use std::path::Path;
use std::sync::Mutex;

use common::cluster::*;
use common::*;

/// One cluster at a time (2-core host).
static SERIAL: Mutex<()> = Mutex::new(());

fn up(rt: &Rt, name: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "up", "--name", name, "-p", "1", "-m", "1", "-s", "1", "--json",
    ];
    args.extend_from_slice(extra);
    rt.lego(&args)
}

fn ok(rt: &Rt, args: &[&str]) -> String {
    let o = rt.lego(args);
    assert!(
        o.status.success(),
        "lego {args:?} failed: {}",
        stderr(&o).trim()
    );
    stdout(&o)
}

/// Runs a command that must fail with one line containing `needle`.
fn fails(rt: &Rt, args: &[&str], needle: &str) {
    let o = rt.lego(args);
    assert!(!o.status.success(), "lego {args:?} should fail");
    let e = stderr(&o);
    assert_eq!(e.trim().lines().count(), 1, "lego {args:?}: one line: {e}");
    assert!(e.contains(needle), "lego {args:?}: `{needle}` not in: {e}");
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write a local file");
    p.display().to_string()
}

/// Gets `remote` and checks it holds `want`.
fn assert_remote(rt: &Rt, name: &str, remote: &str, dir: &Path, want: &[u8], when: &str) {
    let out = dir.join("got");
    ok(
        rt,
        &["get", "--name", name, remote, &out.display().to_string()],
    );
    let got = std::fs::read(&out).expect("read a local file");
    assert!(got == want, "{remote} differs {when}");
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u64 * 2_654_435_761) >> 13) as u8 ^ seed)
        .collect()
}

/// A `mkdir -p` target of 16 long names: 4 KB deep, ~33 KB of paths in all.
fn chain(i: usize) -> String {
    let mut parts: Vec<String> = (0..15)
        .map(|_| format!("{i:05}{}", "x".repeat(250)))
        .collect();
    parts.push("y".repeat(200));
    format!("web:/{}", parts.join("/"))
}

/// The sComponent never panicked: it is ready and its console has no panic.
fn s0_alive(rt: &Rt, name: &str, when: &str) {
    let states = rt.states(name);
    assert!(
        states.iter().any(|(n, s)| n == "s0" && s == "ready"),
        "{when}: {states:?}"
    );
    let log = ok(rt, &["logs", "--name", name, "s0"]);
    assert!(!log.contains("panic"), "{when}: s0 panicked: {log}");
}

/// A 5000-level `mkdir -p` and thousands of long paths on an sComponent with the least memory
/// (32 MiB): clear errors, no panic; after `kill`/`restart` of s0, with the same memory, the
/// disk mounts again and every fsync'ed file is intact.
#[test]
fn metadata_past_the_memory_is_refused_and_mounts_again() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let name = "lim";
    let o = up(&rt, name, &["--smon-mem", "32M"]);
    assert!(o.status.success(), "lego up: {}", stderr(&o));
    ok(&rt, &["vnode", "create", "--name", name, "web", "--json"]);
    let keep = pattern(7, 300 << 10);
    let src = write(tmp.path(), "keep", &keep);
    ok(&rt, &["put", "--name", name, &src, "web:/keep"]);

    // A path deeper than paths may be: as deep as it can go, then a clear error.
    let deep = vec!["a"; 5000].join("/");
    fails(
        &rt,
        &["mkdir", "--name", name, "-p", &format!("web:/{deep}")],
        "file name too long",
    );
    s0_alive(&rt, name, "after the deep mkdir -p");

    // Chains of 16 long names (~33 KB of path each) until the metadata is full.
    let mut made = 0;
    let err = loop {
        let o = rt.lego(&["mkdir", "--name", name, "-p", &chain(made)]);
        if !o.status.success() {
            break stderr(&o);
        }
        made += 1;
        assert!(
            made < 2000,
            "32 MiB of sComponent held {made} chains of 33 KB"
        );
    };
    assert!(
        err.contains("no space left on device") && err.trim().lines().count() == 1,
        "after {made} chains: {err}"
    );
    assert!(
        made > 50,
        "only {made} chains of 33 KB in a 32 MiB sComponent"
    );
    eprintln!("{made} chains of 33 KB of paths, then: {}", err.trim());
    s0_alive(&rt, name, "with the metadata full");
    // Data still goes where the metadata allows it; this small file fits.
    let small = write(tmp.path(), "small", b"fsync'ed while the metadata is full");
    let small_ok = rt
        .lego(&["put", "--name", name, &small, "web:/small"])
        .status
        .success();

    // The same memory mounts everything again. (A mkdir is durable at the next commit, as a
    // Linux mkdir is at the next sync: commit before the kill.)
    ok(&rt, &["sync", "--name", name, "web:/keep"]);
    ok(&rt, &["kill", "--name", name, "s0"]);
    ok(&rt, &["restart", "--name", name, "s0"]);
    let log = ok(&rt, &["logs", "--name", name, "s0"]);
    assert!(
        log.contains("smon: mounted a 1024 MiB disk"),
        "s0 did not mount its disk again: {log}"
    );
    s0_alive(&rt, name, "after the restart");
    assert_remote(
        &rt,
        name,
        "web:/keep",
        tmp.path(),
        &keep,
        "after the restart",
    );
    if small_ok {
        assert_remote(
            &rt,
            name,
            "web:/small",
            tmp.path(),
            b"fsync'ed while the metadata is full",
            "after the restart",
        );
    }
    let ls = rt.json(&["ls", "--name", name, "web:/", "--json"]);
    let entries = ls["entries"].as_array().map_or(0, Vec::len);
    assert!(entries >= made + 2, "{entries} entries for {made} chains");
    // The deepest directory of the last whole chain is there.
    let last = chain(made - 1);
    let (dir, _) = last.rsplit_once('/').expect("a chain has levels");
    ok(&rt, &["ls", "--name", name, dir]);
    ok(&rt, &["down", "--name", name, "--wipe"]);
}

/// Metadata that fits a 48 MiB sComponent does not fit a 32 MiB one: brought up with less
/// memory, s0 refuses the disk with how much it needs (and leaves it alone); with enough
/// memory again, it mounts it.
#[test]
fn a_disk_whose_metadata_outgrew_the_memory_is_refused_with_what_it_needs() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let name = "over";
    let o = up(&rt, name, &["--smon-mem", "48M", "--smon-disk", "2G"]);
    assert!(o.status.success(), "lego up: {}", stderr(&o));
    ok(&rt, &["vnode", "create", "--name", name, "web", "--json"]);
    let keep = pattern(9, 100 << 10);
    let src = write(tmp.path(), "keep", &keep);
    ok(&rt, &["put", "--name", name, &src, "web:/keep"]);
    let mut made = 0;
    while rt
        .lego(&["mkdir", "--name", name, "-p", &chain(made)])
        .status
        .success()
    {
        made += 1;
        assert!(made < 3000, "48 MiB of sComponent held {made} chains");
    }
    // Directories are durable once something is fsync'ed after them (the journal is shared).
    ok(&rt, &["sync", "--name", name, "web:/keep"]);
    ok(&rt, &["down", "--name", name]);
    let o = up(&rt, name, &["--smon-mem", "32M"]);
    assert!(
        o.status.success() || stderr(&o).contains("s0"),
        "lego up: {}",
        stderr(&o)
    );
    let log = ok(&rt, &["logs", "--name", name, "s0"]);
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("smon: disk refused:"))
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(
        refused[0].contains("metadata needs") && refused[0].contains("restart it with --smon-mem"),
        "{}",
        refused[0]
    );
    if rt
        .states(name)
        .iter()
        .any(|(n, s)| n == "m0" && s == "ready")
    {
        // The managers show the refused disk as a failed component and name it.
        fails(&rt, &["ls", "--name", name, "web:/"], "storage refused");
    }
    let _ = rt.lego(&["down", "--name", name]);
    let o = up(&rt, name, &["--smon-mem", "48M"]);
    assert!(o.status.success(), "lego up: {}", stderr(&o));
    assert_remote(
        &rt,
        name,
        "web:/keep",
        tmp.path(),
        &keep,
        "with enough memory again",
    );
    let ls = rt.json(&["ls", "--name", name, "web:/", "--json"]);
    let entries = ls["entries"].as_array().map_or(0, Vec::len);
    assert!(entries > made, "{entries} entries after {made} chains");
    ok(&rt, &["down", "--name", name, "--wipe"]);
}

/// 500 GiB and 16 TiB disks (sparse images) boot with the default sComponent memory and
/// serve a file.
#[test]
fn disks_up_to_16_tib_boot_and_serve() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = pattern(3, 3 << 20);
    let src = write(tmp.path(), "d", &data);
    // ext4 holds files up to 16 TiB less a block: a disk of exactly 16 TiB does not fit every
    // host file system.
    let largest = ((16u64 << 40) - 4096).to_string();
    for (name, sizes) in [("g500", vec!["500G"]), ("t16", vec!["16T", &largest])] {
        let mut booted = None;
        for size in sizes {
            let o = up(&rt, name, &["--smon-disk", size]);
            if o.status.success() {
                booted = Some(size);
                break;
            }
            let e = stderr(&o);
            assert!(
                e.contains("File too large") && e.contains("cannot hold"),
                "lego up --smon-disk {size}: {e}"
            );
            eprintln!(
                "--smon-disk {size}: the host's file system cannot hold it ({})",
                e.trim()
            );
        }
        let size = booted.expect("a disk of (nearly) 16 TiB boots");
        s0_alive(&rt, name, size);
        ok(&rt, &["vnode", "create", "--name", name, "web", "--json"]);
        ok(&rt, &["put", "--name", name, &src, "web:/d"]);
        assert_remote(&rt, name, "web:/d", tmp.path(), &data, size);
        ok(&rt, &["kill", "--name", name, "s0"]);
        ok(&rt, &["restart", "--name", name, "s0"]);
        assert_remote(&rt, name, "web:/d", tmp.path(), &data, "after a restart");
        let img = rt.state.path().join(name).join("s0.img");
        let meta = std::fs::metadata(&img).expect("the disk image");
        eprintln!(
            "--smon-disk {size}: image of {} bytes, {} MiB allocated",
            meta.len(),
            std::os::unix::fs::MetadataExt::blocks(&meta) / 2048
        );
        ok(&rt, &["down", "--name", name, "--wipe"]);
        assert!(!img.exists(), "--wipe left {} behind", img.display());
    }
    rt.assert_nothing_left("the large disks");
}

/// A disk with a damaged superblock is refused: the console says why in one line, the
/// health word says so, every request fails as corrupted, and the disk is not written.
#[test]
fn a_damaged_disk_is_refused_and_reported() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let name = "bad";
    let o = up(&rt, name, &["--smon-disk", "64M"]);
    assert!(o.status.success(), "lego up: {}", stderr(&o));
    ok(&rt, &["vnode", "create", "--name", name, "web", "--json"]);
    let src = write(tmp.path(), "d", b"data");
    ok(&rt, &["put", "--name", name, &src, "web:/d"]);
    ok(&rt, &["down", "--name", name]);
    let img = rt.state.path().join(name).join("s0.img");
    let mut bytes = std::fs::read(&img).expect("read the image");
    bytes[16] ^= 0xff;
    std::fs::write(&img, &bytes).expect("write the image");
    let o = up(&rt, name, &[]);
    assert!(
        o.status.success() || stderr(&o).contains("s0"),
        "lego up: {}",
        stderr(&o)
    );
    let log = ok(&rt, &["logs", "--name", name, "s0"]);
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("smon: disk refused:"))
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(refused[0].contains("superblock"), "{}", refused[0]);
    if rt
        .states(name)
        .iter()
        .any(|(n, s)| n == "m0" && s == "ready")
    {
        fails(&rt, &["ls", "--name", name, "web:/"], "storage refused");
    }
    let _ = rt.lego(&["down", "--name", name]);
    assert_eq!(
        std::fs::read(&img).expect("read the image")[..4096],
        bytes[..4096],
        "the refused disk was written to"
    );
    let _ = rt.lego(&["down", "--name", name, "--wipe"]);
}

/// `lego put /dev/zero` on a small disk: refused with ENOSPC once the disk (with what the
/// buffer cache holds) is full, nothing left behind, and other files still readable and
/// writable afterwards.
#[test]
fn an_endless_put_stops_at_a_full_disk_and_leaves_nothing() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let name = "zero";
    let o = up(&rt, name, &["--smon-disk", "64M"]);
    assert!(o.status.success(), "lego up: {}", stderr(&o));
    ok(&rt, &["vnode", "create", "--name", name, "web"]);
    let keep = pattern(7, 100_000);
    let local = write(tmp.path(), "keep", &keep);
    ok(&rt, &["put", "--name", name, &local, "web:/keep"]);
    fails(
        &rt,
        &["put", "--name", name, "/dev/zero", "web:/zero"],
        "no space left on device",
    );
    let ls = ok(&rt, &["ls", "--name", name, "web:/"]);
    assert!(!ls.contains("zero"), "the failed put left something: {ls}");
    assert_remote(
        &rt,
        name,
        "web:/keep",
        tmp.path(),
        &keep,
        "after the full disk",
    );
    let again = write(tmp.path(), "again", b"still writable");
    ok(&rt, &["put", "--name", name, &again, "web:/again"]);
    assert_remote(
        &rt,
        name,
        "web:/again",
        tmp.path(),
        b"still writable",
        "after the full disk",
    );
    ok(&rt, &["down", "--name", name, "--wipe"]);
}
