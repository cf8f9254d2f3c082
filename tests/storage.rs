//! Files in vNodes: `lego put/get/ls/rm/mkdir/mv` through the mComponent's buffer cache to the
//! sComponent's disk; isolation between vNodes; durability across kills, restarts and
//! `lego down`; bad input and corrupted images.

mod common;

use std::path::Path;
use std::sync::Mutex;

use common::cluster::*;
use common::*;
use serde_json::Value;

/// One cluster at a time (2-core host).
static SERIAL: Mutex<()> = Mutex::new(());

/// Deterministic bytes: file `seed`, offset `i`.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A cluster with one vNode, `web`.
fn cluster(rt: &Rt, name: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "up", "--name", name, "-p", "1", "-m", "1", "-s", "1", "--json",
    ];
    args.extend_from_slice(extra);
    let up = rt.json(&args);
    rt.json(&["vnode", "create", "--name", name, "web", "--json"]);
    up
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

fn fails(rt: &Rt, args: &[&str], needle: &str) {
    let o = rt.lego(args);
    assert!(!o.status.success(), "lego {args:?} should fail");
    let e = stderr(&o);
    assert_eq!(
        e.trim().lines().count(),
        1,
        "lego {args:?}: expected one line, got: {e}"
    );
    assert!(e.contains(needle), "lego {args:?}: `{needle}` not in: {e}");
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write a local file");
    p.display().to_string()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).expect("read a local file")
}

/// Gets `remote` of cluster `name` into `dir` and checks it holds `want`.
fn assert_remote(rt: &Rt, name: &str, remote: &str, dir: &Path, want: &[u8], when: &str) {
    let out = dir.join("got");
    ok(
        rt,
        &["get", "--name", name, remote, &out.display().to_string()],
    );
    let got = read(&out);
    assert!(
        got == want,
        "{remote} differs {when} ({} bytes, want {})",
        got.len(),
        want.len()
    );
}

fn down(rt: &Rt, name: &str) {
    let status = rt.json(&["status", "--name", name, "--json"]);
    ok(rt, &["down", "--name", name, "--wipe"]);
    assert_gone(rt, name, &pids(&status));
    assert!(
        !rt.state.path().join(name).exists(),
        "--wipe left the state of {name} behind"
    );
}

#[test]
fn a_64_mib_file_round_trips_byte_identical() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    cluster(&rt, "big", &[]);
    let data = pattern(64, 64 << 20);
    let src = write(tmp.path(), "big.bin", &data);
    ok(&rt, &["put", "--name", "big", &src, "web:/big.bin"]);
    assert_remote(
        &rt,
        "big",
        "web:/big.bin",
        tmp.path(),
        &data,
        "after a round trip",
    );
    let ls = rt.json(&["ls", "--name", "big", "web:/", "--json"]);
    assert_eq!(ls["entries"][0]["name"], "big.bin");
    assert_eq!(ls["entries"][0]["size"], 64 << 20);
    down(&rt, "big");
}

#[test]
fn small_files_nested_directories_rename_and_unlink() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    cluster(&rt, "small", &[]);
    ok(&rt, &["mkdir", "--name", "small", "-p", "web:/a/b/c"]);
    let mut expect = Vec::new();
    for i in 0..40u64 {
        let dir = ["/a", "/a/b", "/a/b/c", "/"][i as usize % 4];
        let path = if dir == "/" {
            format!("/f{i}")
        } else {
            format!("{dir}/f{i}")
        };
        let data = pattern(i, (i as usize * 997) % 9000);
        let src = write(tmp.path(), &format!("f{i}"), &data);
        ok(
            &rt,
            &["put", "--name", "small", &src, &format!("web:{path}")],
        );
        expect.push((path, data));
    }
    for (path, data) in &expect {
        assert_remote(&rt, "small", &format!("web:{path}"), tmp.path(), data, "");
    }
    let ls = rt.json(&["ls", "--name", "small", "web:/a/b", "--json"]);
    let names: Vec<&str> = ls["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(
        names.contains(&"c") && names.contains(&"f1") && names.contains(&"f5"),
        "{names:?}"
    );
    // A trailing `/` puts the file into the directory under its own name.
    let named = write(tmp.path(), "named.txt", b"into a directory");
    ok(&rt, &["put", "--name", "small", &named, "web:/a/b/"]);
    let ls = rt.json(&["ls", "--name", "small", "web:/a/b/named.txt", "--json"]);
    assert_eq!(ls["entries"][0]["size"], 16);
    ok(&rt, &["rm", "--name", "small", "web:/a/b/named.txt"]);
    // Rename moves the data (even right after a write, still only in the buffer cache) ...
    let src = write(tmp.path(), "r", b"renamed data");
    ok(&rt, &["put", "--name", "small", &src, "web:/a/r"]);
    ok(&rt, &["mv", "--name", "small", "web:/a/r", "/a/b/r2"]);
    fails(
        &rt,
        &["get", "--name", "small", "web:/a/r", "/dev/null"],
        "no such file",
    );
    let out = tmp.path().join("r2");
    ok(
        &rt,
        &[
            "get",
            "--name",
            "small",
            "web:/a/b/r2",
            &out.display().to_string(),
        ],
    );
    assert_eq!(read(&out), b"renamed data");
    // A directory moves with everything in it, including data still only in the cache.
    let dirty = write(tmp.path(), "dirty", b"not yet fsynced");
    ok(
        &rt,
        &[
            "put",
            "--name",
            "small",
            "--no-fsync",
            &dirty,
            "web:/a/b/c/dirty",
        ],
    );
    fails(
        &rt,
        &["mv", "--name", "small", "web:/a", "/a/b/x"],
        "cannot move a directory into itself",
    );
    ok(&rt, &["mv", "--name", "small", "web:/a/b", "/moved"]);
    fails(&rt, &["ls", "--name", "small", "web:/a/b"], "no such file");
    assert_remote(
        &rt,
        "small",
        "web:/moved/c/dirty",
        tmp.path(),
        b"not yet fsynced",
        "",
    );
    assert_remote(
        &rt,
        "small",
        "web:/moved/r2",
        tmp.path(),
        b"renamed data",
        "",
    );
    for (path, data) in expect.iter().filter(|(p, _)| p.starts_with("/a/b/")) {
        let moved = format!("web:/moved/{}", &path["/a/b/".len()..]);
        assert_remote(
            &rt,
            "small",
            &moved,
            tmp.path(),
            data,
            "after mv of its directory",
        );
    }
    ok(&rt, &["mv", "--name", "small", "web:/moved", "/a/b"]);
    // A trailing `/` moves into that directory under the same name.
    ok(&rt, &["mv", "--name", "small", "web:/a/b/c/dirty", "/a/"]);
    assert_remote(
        &rt,
        "small",
        "web:/a/dirty",
        tmp.path(),
        b"not yet fsynced",
        "",
    );
    ok(&rt, &["rm", "--name", "small", "web:/a/dirty"]);
    // ... unlink removes a file; a non-empty directory needs -r.
    ok(&rt, &["rm", "--name", "small", "web:/a/b/r2"]);
    fails(
        &rt,
        &["ls", "--name", "small", "web:/a/b/r2"],
        "no such file",
    );
    fails(
        &rt,
        &["rm", "--name", "small", "web:/a"],
        "directory not empty",
    );
    ok(&rt, &["rm", "--name", "small", "-r", "web:/a"]);
    let ls = rt.json(&["ls", "--name", "small", "web:/", "--json"]);
    assert_eq!(ls["entries"].as_array().map(Vec::len), Some(10));
    down(&rt, "small");
}

#[test]
fn vnodes_with_the_same_path_hold_different_files() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    cluster(&rt, "iso", &[]);
    rt.json(&["vnode", "create", "--name", "iso", "db", "--json"]);
    let a = write(tmp.path(), "a", b"web's secret");
    let b = write(tmp.path(), "b", b"db's own data");
    ok(&rt, &["put", "--name", "iso", &a, "web:/etc.conf"]);
    ok(&rt, &["put", "--name", "iso", &b, "db:/etc.conf"]);
    ok(&rt, &["put", "--name", "iso", &a, "web:/only-web"]);
    for (remote, want) in [
        ("web:/etc.conf", &b"web's secret"[..]),
        ("db:/etc.conf", b"db's own data"),
    ] {
        assert_remote(&rt, "iso", remote, tmp.path(), want, "");
    }
    fails(
        &rt,
        &["get", "--name", "iso", "db:/only-web", "/dev/null"],
        "no such file",
    );
    let ls = rt.json(&["ls", "--name", "iso", "db:/", "--json"]);
    assert_eq!(ls["entries"].as_array().map(Vec::len), Some(1));
    fails(&rt, &["ls", "--name", "iso", "nope:/"], "no vNode `nope`");
    down(&rt, "iso");
}

#[test]
fn fsynced_files_survive_kills_restarts_and_down() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    cluster(&rt, "dur", &[]);
    let data = pattern(7, 3 << 20);
    let src = write(tmp.path(), "d", &data);
    ok(&rt, &["put", "--name", "dur", &src, "web:/d"]);
    let check = |what: &str| assert_remote(&rt, "dur", "web:/d", tmp.path(), &data, what);
    // The storage component dies: the file is on its disk.
    ok(&rt, &["kill", "--name", "dur", "s0"]);
    fails(
        &rt,
        &["get", "--name", "dur", "web:/d", "/dev/null"],
        "s0 is failed",
    );
    ok(&rt, &["restart", "--name", "dur", "s0"]);
    check("s0 was killed and restarted");
    // The buffer cache dies: nothing fsync'ed was only there.
    ok(&rt, &["kill", "--name", "dur", "m0"]);
    ok(&rt, &["restart", "--name", "dur", "m0"]);
    check("m0 was killed and restarted");
    // The whole cluster goes down and comes back under the same name: disks and vNodes stay.
    ok(&rt, &["down", "--name", "dur"]);
    rt.json(&[
        "up", "--name", "dur", "-p", "1", "-m", "1", "-s", "1", "--json",
    ]);
    check("lego down and up");
    down(&rt, "dur");
}

/// Kills the sComponent at seeded random moments while files are being written and fsync'ed,
/// then checks that the disk mounts, that every file whose write returned (fsync'ed) is intact,
/// and that no file holds a byte that was never written to it.
#[test]
fn random_kills_during_a_write_stream_lose_nothing_fsynced() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    cluster(&rt, "chaos", &[]);
    let seed: u64 = std::env::var("LEGO_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_121);
    let kills = 24;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut results: Vec<(String, Vec<u8>, bool)> = Vec::new();
    // A few source files of seeded sizes and contents, written again and again under new
    // names (so the host's own disk is not what is being tested).
    let sources: Vec<(String, Vec<u8>)> = (0..16u64)
        .map(|k| {
            let len = (pattern(seed ^ k, 4)[0] as usize + 1) * 4099 % (700 << 10);
            let data = pattern(seed.wrapping_add(k), len);
            (write(tmp.path(), &format!("w{k}"), &data), data)
        })
        .collect();
    /// Stops the writer even if an assertion fails mid-way (the scope would wait for it).
    struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let writer = s.spawn(|| {
            let mut out = Vec::new();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (src, data) = &sources[i as usize % sources.len()];
                let path = format!("/w{i}");
                let o = rt.lego(&["put", "--name", "chaos", src, &format!("web:{path}")]);
                if !o.status.success() {
                    // s0 is down: do not spin.
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                out.push((path, data.clone(), o.status.success()));
                i += 1;
            }
            out
        });
        let mut rng = seed;
        for _ in 0..kills {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            std::thread::sleep(std::time::Duration::from_millis(20 + rng % 250));
            ok(&rt, &["kill", "--name", "chaos", "s0"]);
            ok(&rt, &["restart", "--name", "chaos", "s0"]);
        }
        // Let the writer finish a few more files against the last incarnation.
        std::thread::sleep(std::time::Duration::from_millis(300));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        results = writer.join().expect("writer thread");
    });
    let done = results.iter().filter(|r| r.2).count();
    assert!(done >= 10, "only {done} writes completed during the kills");
    assert!(results.len() > done, "no write was interrupted by a kill");
    // The last restart mounted the disk (it replays the journal, validates, or refuses).
    let log = ok(&rt, &["logs", "--name", "chaos", "s0"]);
    assert!(log.contains("smon: mounted"), "s0 did not mount: {log}");
    // Lose the buffer cache too, so every read comes from the disk.
    ok(&rt, &["kill", "--name", "chaos", "m0"]);
    ok(&rt, &["restart", "--name", "chaos", "m0"]);
    for (path, data, completed) in &results {
        let out = tmp.path().join("check");
        let o = rt.lego(&[
            "get",
            "--name",
            "chaos",
            &format!("web:{path}"),
            &out.display().to_string(),
        ]);
        if !o.status.success() {
            assert!(
                !completed,
                "{path}: fsync'ed but unreadable: {}",
                stderr(&o)
            );
            assert!(
                stderr(&o).contains("no such file"),
                "{path}: {}",
                stderr(&o)
            );
            continue;
        }
        let got = read(&out);
        if *completed {
            assert!(
                got == *data,
                "{path}: fsync'ed but differs ({} of {} bytes)",
                got.len(),
                data.len()
            );
        } else {
            // Interrupted: a prefix of what was written (writes are ordered and atomic).
            assert!(
                got.len() <= data.len() && got == data[..got.len()],
                "{path}: holds bytes never written"
            );
        }
    }
    eprintln!("{kills} kills, {} writes, {done} completed", results.len());
    down(&rt, "chaos");
}

#[test]
fn bad_paths_limits_and_a_full_disk_are_clear_errors() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    cluster(
        &rt,
        "bad",
        &[
            "--smon-disk",
            "16M",
            "--guest-args",
            "s0:fs_max_file_kb=2048",
        ],
    );
    let small = write(tmp.path(), "s", b"x");
    for (path, why) in [
        ("web:/a/../b", "invalid argument"),
        ("web:/a//b", "invalid argument"),
        ("web:/./b", "invalid argument"),
    ] {
        fails(&rt, &["put", "--name", "bad", &small, path], why);
    }
    let long = format!("web:/{}", "n".repeat(300));
    fails(
        &rt,
        &["put", "--name", "bad", &small, &long],
        "file name too long",
    );
    // Past the maximum file size (2 MiB here).
    let three = write(tmp.path(), "3m", &pattern(3, 3 << 20));
    fails(
        &rt,
        &["put", "--name", "bad", &three, "web:/three"],
        "file too large",
    );
    // A full disk (16 MiB, with metadata): an error, and what was there stays readable.
    let two = write(tmp.path(), "2m", &pattern(2, 2 << 20));
    let mut stored = 0;
    let mut last_err = String::new();
    for i in 0..12 {
        let o = rt.lego(&["put", "--name", "bad", &two, &format!("web:/fill{i}")]);
        if o.status.success() {
            stored += 1;
        } else {
            last_err = stderr(&o);
            break;
        }
    }
    assert!(
        last_err.contains("no space left on device"),
        "after {stored} files: {last_err}"
    );
    assert!(stored >= 3, "only {stored} files fit on a 16 MiB disk");
    let two = pattern(2, 2 << 20);
    assert_remote(&rt, "bad", "web:/fill0", tmp.path(), &two, "on a full disk");
    // The monitors never crashed.
    assert!(all(&rt.states("bad"), "ready"));
    down(&rt, "bad");
}

/// Flipped bytes in a file's data are caught by its checksum, and crash nothing.
#[test]
fn corrupted_images_are_detected_not_served() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    cluster(&rt, "rot", &["--smon-disk", "64M"]);
    let data = pattern(99, 256 << 10);
    let src = write(tmp.path(), "d", &data);
    ok(&rt, &["put", "--name", "rot", &src, "web:/d"]);
    ok(&rt, &["down", "--name", "rot"]);
    // Flip a byte of the file's data in the image.
    let img = rt.state.path().join("rot").join("s0.img");
    let mut bytes = std::fs::read(&img).expect("read the image");
    let at = bytes
        .windows(64)
        .position(|w| w == &data[8192..8256])
        .expect("the file's data is in the image");
    bytes[at + 5] ^= 0x40;
    std::fs::write(&img, &bytes).expect("write the image");
    rt.json(&[
        "up", "--name", "rot", "-p", "1", "-m", "1", "-s", "1", "--json",
    ]);
    fails(
        &rt,
        &["get", "--name", "rot", "web:/d", "/dev/null"],
        "storage corrupted",
    );
    assert!(all(&rt.states("rot"), "ready"));
    // (A damaged superblock: `a_refused_disk_shows_as_failed_with_its_reason`.)
    ok(&rt, &["down", "--name", "rot", "--wipe"]);
}

/// One mComponent caches two vNodes stored on two sComponents, with a cache much smaller than
/// the files: pages evicted while serving one vNode must be written back to the other's disk.
#[test]
fn a_small_cache_shared_by_vnodes_on_two_scomponents() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    rt.json(&[
        "up",
        "--name",
        "two",
        "-p",
        "1",
        "-m",
        "1",
        "-s",
        "2",
        "--mmon-cache",
        "1M",
        "--json",
    ]);
    let a = rt.json(&["vnode", "create", "--name", "two", "a", "--json"]);
    let b = rt.json(&["vnode", "create", "--name", "two", "b", "--json"]);
    assert_ne!(a["storage"], b["storage"], "GSM should spread the vNodes");
    let (da, db) = (pattern(1, 3 << 20), pattern(2, 3 << 20));
    let (fa, fb) = (write(tmp.path(), "a", &da), write(tmp.path(), "b", &db));
    // a's pages stay dirty in the cache; b's writes evict them.
    ok(&rt, &["put", "--name", "two", "--no-fsync", &fa, "a:/x"]);
    ok(&rt, &["put", "--name", "two", &fb, "b:/x"]);
    ok(&rt, &["sync", "--name", "two", "a:/x"]);
    for when in ["through the cache", "from the disks alone"] {
        for (remote, want) in [("a:/x", &da), ("b:/x", &db)] {
            assert_remote(&rt, "two", remote, tmp.path(), want, when);
        }
        ok(&rt, &["kill", "--name", "two", "m0"]);
        ok(&rt, &["restart", "--name", "two", "m0"]);
    }
    down(&rt, "two");
}

/// `lego bench storage` runs end to end, reports the four operations with the host's figures
/// and the sComponent's disk time next to ours, issued by the host and by m0 itself, and leaves
/// nothing behind (its numbers are for people to read; this only checks they are there and
/// consistent).
#[test]
fn bench_storage_reports_and_cleans_up() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let rows = rt.json(&[
        "bench",
        "storage",
        "--ops",
        "40",
        "--file-mib",
        "2",
        "--json",
    ]);
    let rows = rows.as_array().expect("a row per operation");
    let ops: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|r| Some((r["client"].as_str()?, r["op"].as_str()?)))
        .collect();
    let names = [
        "seq read 4K",
        "rand read 4K",
        "seq write+fsync 4K",
        "rand write+fsync 4K",
    ];
    let want: Vec<(&str, &str)> = ["host", "m0"]
        .iter()
        .flat_map(|c| names.iter().map(move |n| (*c, *n)))
        .collect();
    assert_eq!(ops, want);
    for r in rows {
        let f = |k: &str| r[k].as_f64().unwrap_or(-1.0);
        let (lego, host) = (f("lego_kiops"), f("host_kiops"));
        assert!(lego > 0.0 && host > 0.0, "{r}");
        assert_eq!(r["ops"], 40, "{r}");
        assert!((f("ratio") - lego / host).abs() < 1e-6, "{r}");
        assert!(
            r["lego_us"]["p99"].as_f64() >= r["lego_us"]["p50"].as_f64(),
            "{r}"
        );
    }
    // Both clients are compared with the same host run.
    for (h, m) in rows[..4].iter().zip(&rows[4..]) {
        assert_eq!(h["host_us"], m["host_us"], "{h} {m}");
    }
    // Random reads miss an empty cache, and every fsync reaches the disk: the sComponent
    // waited for its disk in both, and never longer than the whole operation took.
    for (i, r) in rows.iter().enumerate().filter(|(i, _)| i % 4 != 0) {
        let disk = r["disk_us_per_op"].as_f64().unwrap_or(0.0);
        let mean = 1e3 / r["lego_kiops"].as_f64().unwrap_or(f64::MAX);
        assert!(disk > 0.0 && disk < mean * 1.5, "{r}");
        let host_mean = 1e3 / r["host_kiops"].as_f64().unwrap_or(f64::MAX);
        let floor = r["floor_ratio"].as_f64().unwrap_or(0.0);
        assert!(
            (floor - host_mean / disk).abs() < 1e-3 * floor.max(1.0),
            "{r}"
        );
        // Where the time went, from the components' own counters: the parts add up to the
        // mean, and a hop (measured by its caller around the callee's own time) is never
        // negative. m0 and s0 had requests to serve, so their parts are counted. Issued by
        // m0, there is no host hop.
        let b = &r["breakdown"];
        let part = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
        let parts = ["host_m0_us", "m0_us", "m0_s0_us", "s0_us", "disk_us"];
        let sum: f64 = parts.iter().map(|k| part(k)).sum();
        let mean_us = r["lego_us"]["mean"].as_f64().unwrap_or(f64::NAN);
        assert!((sum - mean_us).abs() < 0.5, "{r}");
        // (Each side measures with its own clock: a microsecond of slack.)
        assert!(part("host_m0_us") > -1.0 && part("m0_s0_us") > -1.0, "{r}");
        if i >= 4 {
            assert_eq!(part("host_m0_us"), 0.0, "{r}");
            assert!(part("m0_us") > -1.0, "{r}");
        }
        assert!(part("m0_us") + part("m0_s0_us") > 0.0, "{r}");
        assert!(part("m0_sleeps") >= 0.0 && part("s0_sleeps") >= 0.0, "{r}");
    }
    rt.assert_nothing_left("bench storage");
}

/// Waits until process `pid` has read `path` (an open descriptor of it) up to `at` bytes;
/// false if it never does within 20 s.
fn wait_reading(pid: u32, path: &str, at: u64) -> bool {
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_secs(20) {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.flatten().collect::<Vec<_>>())
            .unwrap_or_default();
        for fd in fds {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l == Path::new(path)) {
                let info = std::fs::read_to_string(format!(
                    "/proc/{pid}/fdinfo/{}",
                    fd.file_name().to_string_lossy()
                ))
                .unwrap_or_default();
                let pos = info
                    .lines()
                    .find_map(|l| l.strip_prefix("pos:"))
                    .and_then(|p| p.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                if pos >= at {
                    return true;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(500));
    }
    false
}

/// Names in local directory `dir`.
fn local_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read a local directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Names in vNode directory `remote` of cluster `name`, with whether `ls` marks them as
/// incomplete copies.
fn remote_names(rt: &Rt, name: &str, remote: &str) -> Vec<(String, bool)> {
    let ls = rt.json(&["ls", "--name", name, remote, "--json"]);
    ls["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                e["incomplete"] == true,
            )
        })
        .collect()
}

/// Runs `lego` in the background with `args`; `wait_reading` tells when to strike.
fn spawn(rt: &Rt, args: &[&str]) -> std::process::Child {
    lego()
        .args(args)
        .env("LEGO_RUNTIME_DIR", rt.root())
        .env("LEGO_STATE_DIR", rt.state.path())
        .env_remove("LEGO_CLUSTER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run lego")
}

/// A put or get that fails (its mComponent or sComponent killed mid-way, a checksum error, the
/// cluster brought down) leaves the old file in place, on the vNode and on the host, and never
/// a partial one under the real name; errors name components by name. Also: an explicit disk
/// size that does not match the existing image is refused, and `rm` guards the root.
#[test]
fn failed_copies_leave_the_old_file_in_place() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let up = cluster(&rt, "atom", &["--smon-disk", "512M"]);
    let manager = up["manager_pid"].as_u64().expect("manager pid") as u32;
    let old = pattern(5, 256 << 10);
    let old_src = write(tmp.path(), "old", &old);
    ok(&rt, &["put", "--name", "atom", &old_src, "web:/f"]);
    let big = pattern(6, 128 << 20);
    let big_src = write(tmp.path(), "big", &big);
    let put_big = ["put", "--name", "atom", big_src.as_str(), "web:/f"];

    // The buffer cache, then the storage, dies while a put replaces /f.
    for victim in ["m0", "s0"] {
        let child = spawn(&rt, &put_big);
        assert!(
            wait_reading(manager, &big_src, 8 << 20),
            "the put never got going"
        );
        ok(&rt, &["kill", "--name", "atom", victim]);
        let o = child.wait_with_output().expect("wait for the put");
        let e = stderr(&o);
        assert!(!o.status.success(), "the put survived {victim}'s death");
        assert_eq!(e.trim().lines().count(), 1, "{e}");
        assert!(e.starts_with("error: web:/f: "), "{e}");
        assert!(
            !e.split("component ")
                .skip(1)
                .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit())),
            "components named by id: {e}"
        );
        ok(&rt, &["restart", "--name", "atom", victim]);
        assert_remote(
            &rt,
            "atom",
            "web:/f",
            tmp.path(),
            &old,
            "after a failed put",
        );
        // What the failed put could not remove is marked, and removable.
        for (n, incomplete) in remote_names(&rt, "atom", "web:/") {
            if n != "f" {
                assert!(incomplete && n.starts_with(".f.lego-tmp-"), "{n} left");
                ok(&rt, &["rm", "--name", "atom", &format!("web:/{n}")]);
            }
        }
        assert_eq!(remote_names(&rt, "atom", "web:/"), [("f".into(), false)]);
    }

    // m0 dies while a get replaces a local file: the file is as it was, no temporary left.
    ok(&rt, &["put", "--name", "atom", &big_src, "web:/big"]);
    ok(&rt, &["kill", "--name", "atom", "m0"]);
    ok(&rt, &["restart", "--name", "atom", "m0"]);
    let dest_dir = tmp.path().join("dest");
    std::fs::create_dir(&dest_dir).expect("mkdir");
    let dest = write(&dest_dir, "d", b"precious local data");
    let child = spawn(&rt, &["get", "--name", "atom", "web:/big", &dest]);
    let t = std::time::Instant::now();
    let started = loop {
        let tmp_len = std::fs::read_dir(&dest_dir)
            .expect("ls")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".d.lego-tmp-"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .max();
        if tmp_len.is_some_and(|l| l >= 4 << 20) {
            break true;
        }
        if t.elapsed() > std::time::Duration::from_secs(20) {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_micros(300));
    };
    assert!(started, "the get never wrote its temporary file");
    ok(&rt, &["kill", "--name", "atom", "m0"]);
    let o = child.wait_with_output().expect("wait for the get");
    assert!(!o.status.success(), "the get finished before m0 was killed");
    assert!(stderr(&o).contains("m0"), "{}", stderr(&o));
    assert_eq!(read(Path::new(&dest)), b"precious local data");
    assert_eq!(local_names(&dest_dir), ["d"]);
    ok(&rt, &["restart", "--name", "atom", "m0"]);

    // The root of a vNode is not removed by accident.
    fails(&rt, &["rm", "--name", "atom", "web:/"], "cannot be removed");
    fails(
        &rt,
        &["rm", "--name", "atom", "-r", "web:/"],
        "add --no-preserve-root",
    );
    assert_eq!(remote_names(&rt, "atom", "web:/").len(), 2);

    // `lego down` while a put runs: the put says so.
    let child = spawn(
        &rt,
        &["put", "--name", "atom", big_src.as_str(), "web:/late"],
    );
    assert!(
        wait_reading(manager, &big_src, 8 << 20),
        "the put never got going"
    );
    ok(&rt, &["down", "--name", "atom"]);
    let o = child.wait_with_output().expect("wait for the put");
    let e = stderr(&o);
    assert!(!o.status.success());
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(
        e.contains("cluster `atom` was brought down (`lego down`) during the request"),
        "{e}"
    );

    // The disk exists: asking for another size is an error, and starts nothing.
    fails(
        &rt,
        &[
            "up",
            "--name",
            "atom",
            "-p",
            "1",
            "-m",
            "1",
            "-s",
            "1",
            "--smon-disk",
            "64M",
        ],
        "is 512 MiB, not the 64 MiB asked for",
    );
    assert!(!rt.root().join("atom").exists());

    // A checksum error while a get replaces a local file.
    let img = rt.state.path().join("atom").join("s0.img");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&img)
        .expect("open the image");
    let needle = &old[8192..8256];
    let mut block = vec![0u8; 4096];
    let len = f.metadata().expect("stat the image").len();
    let at = (0..len / 4096)
        .map(|b| b * 4096)
        .find(|&at| {
            std::os::unix::fs::FileExt::read_exact_at(&f, &mut block, at).is_ok()
                && &block[..64] == needle
        })
        .expect("the file's data is in the image");
    block[5] ^= 0x40;
    std::os::unix::fs::FileExt::write_all_at(&f, &block, at).expect("damage the image");
    drop(f);
    rt.json(&[
        "up", "--name", "atom", "-p", "1", "-m", "1", "-s", "1", "--json",
    ]);
    fails(
        &rt,
        &["get", "--name", "atom", "web:/f", &dest],
        "storage corrupted",
    );
    assert_eq!(read(Path::new(&dest)), b"precious local data");
    assert_eq!(local_names(&dest_dir), ["d"]);
    down(&rt, "atom");
}

/// A damaged superblock: the sComponent refuses its disk, and the cluster shows it failed with
/// the reason (not `ready`); the managers place nothing on it; the disk is left as it was.
/// (The sComponent's side, its `STORAGE_REFUSED` health report, is on the storage branch.)
#[test]
fn a_refused_disk_shows_as_failed_with_its_reason() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    cluster(&rt, "sb", &["--smon-disk", "64M"]);
    let src = write(tmp.path(), "d", &pattern(3, 4096));
    ok(&rt, &["put", "--name", "sb", &src, "web:/d"]);
    ok(&rt, &["down", "--name", "sb"]);
    let img = rt.state.path().join("sb").join("s0.img");
    let mut head = read(&img)[..4096].to_vec();
    head[16] ^= 0xff;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&img)
        .expect("open the image");
    std::os::unix::fs::FileExt::write_all_at(&f, &head, 0).expect("damage the superblock");
    drop(f);
    // `lego up` brings the cluster up (so the log can be read) and says what failed.
    let o = rt.lego(&[
        "up", "--name", "sb", "-p", "1", "-m", "1", "-s", "1", "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let up: Value = serde_json::from_slice(&o.stdout).expect("up --json");
    if up["components"][2]["state"] == "failed" {
        assert!(
            stderr(&o).contains("warning: s0 is failed (storage refused"),
            "{}",
            stderr(&o)
        );
    }
    let t = std::time::Instant::now();
    let s0 = loop {
        let s = rt.json(&["status", "--name", "sb", "--json"]);
        let s0 = s["components"][2].clone();
        if s0["state"] == "failed" || t.elapsed() > std::time::Duration::from_secs(5) {
            break s0;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(s0["state"], "failed", "{s0}");
    let reason = s0["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("storage refused") && reason.contains("`lego logs s0`"),
        "{s0}"
    );
    let status = stdout(&rt.lego(&["status", "--name", "sb"]));
    assert!(
        status.contains("failed") && status.contains("storage refused"),
        "{status}"
    );
    assert!(status.contains("next vNode storage -> none"), "{status}");
    fails(
        &rt,
        &["ls", "--name", "sb", "web:/"],
        "its storage s0 is failed (storage refused",
    );
    fails(
        &rt,
        &["vnode", "create", "--name", "sb", "other"],
        "no sComponent is ready",
    );
    let log = ok(&rt, &["logs", "--name", "sb", "s0"]);
    assert!(log.contains("smon: disk refused"), "{log}");
    ok(&rt, &["down", "--name", "sb"]);
    assert_eq!(
        read(&img)[..4096],
        head[..],
        "the refused disk was written to"
    );
    ok(&rt, &["down", "--name", "sb", "--wipe"]);
}

/// Every file below `dir`, following symbolic links to files and directories (skipping loops
/// and what is not a file), as relative path -> contents.
fn tree_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn visit(
        dir: &Path,
        rel: &str,
        seen: &mut Vec<std::path::PathBuf>,
        out: &mut std::collections::BTreeMap<String, Vec<u8>>,
    ) {
        let Ok(real) = std::fs::canonicalize(dir) else {
            return;
        };
        if seen.contains(&real) {
            return;
        }
        seen.push(real);
        for e in std::fs::read_dir(dir).expect("read a directory").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            match std::fs::metadata(e.path()) {
                Ok(m) if m.is_dir() => visit(&e.path(), &r, seen, out),
                Ok(m) if m.is_file() => {
                    out.insert(r, read(&e.path()));
                }
                _ => {}
            }
        }
        seen.pop();
    }
    let mut out = std::collections::BTreeMap::new();
    visit(dir, "", &mut Vec::new(), &mut out);
    out
}

/// `put -r` and `get -r` copy a real directory tree (`/usr/include/linux`, reached through a
/// symbolic link, next to files of our own) in and out byte for byte, skip what is not a file
/// and a failed put's leftovers, and say so in their summary.
#[test]
fn put_and_get_copy_directory_trees() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let system = Path::new("/usr/include/linux");
    assert!(
        system.is_dir(),
        "{} is missing: this test copies a real tree (install linux-libc-dev)",
        system.display()
    );
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("a/b/c")).expect("mkdir");
    std::fs::write(tree.join("a/b/c/deep.bin"), pattern(1, 100_000)).expect("write");
    std::fs::write(tree.join("a/empty"), b"").expect("write");
    std::fs::write(tree.join("with space.txt"), b"spaces are fine").expect("write");
    std::os::unix::fs::symlink(system, tree.join("linux")).expect("symlink");
    std::os::unix::fs::symlink(".", tree.join("a/loop")).expect("symlink");
    std::os::unix::fs::symlink("/nonexistent", tree.join("dangling")).expect("symlink");
    let fifo = std::ffi::CString::new(tree.join("fifo").display().to_string()).expect("path");
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
    let want = tree_files(&tree);
    assert!(want.len() > 500, "only {} files", want.len());

    cluster(&rt, "trees", &[]);
    let tree_arg = tree.display().to_string();
    let put = rt.json(&["put", "--name", "trees", "-r", &tree_arg, "web:/", "--json"]);
    assert_eq!(put["files"], want.len(), "{put}");
    assert_eq!(put["to"], "web:/tree", "{put}");
    let skipped: Vec<&str> = put["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("fifo: not a regular file"))
            && skipped.iter().any(|s| s.contains("a symbolic link loop"))
            && skipped.iter().any(|s| s.contains("dangling")),
        "{skipped:?}"
    );
    // A failed put's leftover on the vNode is not copied out.
    let left = write(tmp.path(), "left", b"half");
    ok(
        &rt,
        &[
            "put",
            "--name",
            "trees",
            &left,
            "web:/tree/a/.x.lego-tmp-0badf00d",
        ],
    );
    let out = tmp.path().join("out");
    let text = ok(
        &rt,
        &[
            "get",
            "--name",
            "trees",
            "-r",
            "web:/tree",
            &out.display().to_string(),
        ],
    );
    assert!(
        text.contains(&format!("{} files", want.len())) && text.contains("1 skipped"),
        "{text}"
    );
    let got = tree_files(&out);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in &want {
        assert!(got[k] == *v, "{k} differs after a round trip");
    }
    // Again into an existing tree: files are replaced, what only the vNode has stays.
    std::fs::write(tree.join("with space.txt"), b"changed").expect("write");
    let extra = write(tmp.path(), "extra", b"only on the vNode");
    ok(
        &rt,
        &["put", "--name", "trees", &extra, "web:/tree/a/extra"],
    );
    ok(&rt, &["put", "--name", "trees", "-r", &tree_arg, "web:/"]);
    assert_remote(
        &rt,
        "trees",
        "web:/tree/with space.txt",
        tmp.path(),
        b"changed",
        "",
    );
    assert_remote(
        &rt,
        "trees",
        "web:/tree/a/extra",
        tmp.path(),
        b"only on the vNode",
        "",
    );
    // Not a directory without -r; and the whole vNode goes only when asked for.
    fails(
        &rt,
        &["put", "--name", "trees", &tree_arg, "web:/"],
        "is a directory",
    );
    let text = ok(
        &rt,
        &["rm", "--name", "trees", "-r", "--no-preserve-root", "web:/"],
    );
    assert!(text.starts_with("emptied web:/ ("), "{text}");
    assert!(remote_names(&rt, "trees", "web:/").is_empty());
    down(&rt, "trees");
}
