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

/// Flipped bytes in a file's data are caught by its checksum; a damaged superblock makes the
/// sComponent refuse the disk (and never format over it). Neither crashes anything.
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
    ok(&rt, &["down", "--name", "rot"]);
    // Damage the superblock: the disk is refused, loudly, and left as it is.
    bytes[16] ^= 0xff;
    std::fs::write(&img, &bytes).expect("write the image");
    rt.json(&[
        "up", "--name", "rot", "-p", "1", "-m", "1", "-s", "1", "--json",
    ]);
    fails(&rt, &["ls", "--name", "rot", "web:/"], "storage corrupted");
    let log = ok(&rt, &["logs", "--name", "rot", "s0"]);
    assert!(log.contains("smon: disk refused"), "{log}");
    assert!(all(&rt.states("rot"), "ready"));
    ok(&rt, &["down", "--name", "rot"]);
    assert_eq!(
        std::fs::read(&img).expect("read the image")[..4096],
        bytes[..4096],
        "the damaged disk was written to"
    );
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
