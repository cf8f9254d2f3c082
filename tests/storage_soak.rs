//! Storage under component failures, for minutes: a 1P2M1S cluster with two vNodes (cached at
//! m0 and m1, stored on s0), two writers putting seeded files of 16 KiB - 1 MiB with `put -p`
//! into their own directories, alternating vNodes, a reader getting acknowledged files back,
//! and s0, m0 or m1 killed and restarted every 3-8 s on a seeded schedule (the same seed gives
//! the same sizes, contents, paths, kill times and targets; the interleaving with the writers
//! is the host's). At the end, without restarting anything: every acknowledged file reads back
//! identical, and every file present was at least attempted (see [`check_presence`]).
//!
//! `LEGO_SOAK_SEED` picks the seed, `LEGO_SOAK_SECS` the length of the short run (default 70 s);
//! the long run is `#[ignore]`d: `cargo test --test storage_soak -- --ignored` (ten minutes, or
//! `LEGO_SOAK_LONG_SECS`).
//!
//! Also here: how long other requests wait at the mComponent while a 256 MiB put runs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cluster::*;
use common::*;

/// One cluster at a time (2-core host).
static SERIAL: Mutex<()> = Mutex::new(());

/// A small seeded generator (xorshift64*), so a seed gives the same schedule everywhere.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Deterministic bytes of file `seed`.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&r.next().to_le_bytes());
    }
    v.truncate(len);
    v
}

/// A put the soak attempted.
#[derive(Clone, Debug)]
struct Put {
    vnode: &'static str,
    path: String,
    seed: u64,
    len: usize,
    acked: bool,
    error: String,
    /// Removed to keep the disk from filling (`Some(true)`: `rm` said so; `Some(false)`: being
    /// removed, or `rm` failed and whether it is gone is unknown).
    removed: Option<bool>,
}

impl Put {
    /// Acknowledged and not (being) removed: must read back identical.
    fn live(&self) -> bool {
        self.acked && self.removed.is_none()
    }
}

/// Each writer keeps at most this many MiB of its acknowledged files (removing its oldest),
/// so that a long soak does not fill s0's disk; `LEGO_SOAK_KEEP_MIB` changes it (0: never
/// remove: the 1 GiB disk fills in about 70 s, which is how the soak that found the bugs ran).
fn keep_bytes() -> usize {
    match secs("LEGO_SOAK_KEEP_MIB", 160) {
        0 => usize::MAX,
        n => (n as usize) << 20,
    }
}

/// What the soak saw.
#[derive(Default)]
struct Log {
    puts: Vec<Put>,
    gets_ok: usize,
    gets_failed: usize,
    /// Failed gets by error (what follows the path).
    get_errors: BTreeMap<String, usize>,
    /// Gets of acknowledged files that said they do not exist or returned other bytes: the
    /// bug this soak is for.
    bad_gets: Vec<String>,
    kills: Vec<String>,
}

const VNODES: [&str; 2] = ["va", "vb"];

fn seed() -> u64 {
    std::env::var("LEGO_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_204)
}

fn secs(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Whether `lego put` writes under a temporary name and renames (then an interrupted put
/// leaves no file under its final name, only possibly a `.NAME.lego-tmp-*` one).
fn put_is_atomic(rt: &Rt) -> bool {
    stdout(&rt.lego(&["put", "--help"])).contains("lego-tmp")
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

/// Every file below `dir` in a vNode, by path (walking `ls --json`).
fn list_files(rt: &Rt, name: &str, vnode: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![String::from("/")];
    while let Some(d) = dirs.pop() {
        let o = rt.lego(&["ls", "--name", name, &format!("{vnode}:{d}"), "--json"]);
        if !o.status.success() {
            return Err(format!("ls {vnode}:{d}: {}", stderr(&o).trim()));
        }
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .map_err(|e| format!("ls {vnode}:{d}: bad JSON: {e}"))?;
        for e in v["entries"].as_array().into_iter().flatten() {
            let Some(n) = e["name"].as_str() else {
                continue;
            };
            let p = if d == "/" {
                format!("/{n}")
            } else {
                format!("{d}/{n}")
            };
            if e["kind"] == "dir" {
                dirs.push(p);
            } else {
                files.insert(p, e["size"].as_u64().unwrap_or(0));
            }
        }
    }
    Ok(files)
}

/// Gets `vnode:path` into `out`; the error line if it failed.
fn get(rt: &Rt, name: &str, vnode: &str, path: &str, out: &Path) -> Result<Vec<u8>, String> {
    let o = rt.lego(&[
        "get",
        "--name",
        name,
        &format!("{vnode}:{path}"),
        &out.display().to_string(),
    ]);
    if !o.status.success() {
        return Err(stderr(&o).trim().to_string());
    }
    std::fs::read(out).map_err(|e| format!("reading {}: {e}", out.display()))
}

/// Whether a failed get is explained by a component being down or restarting (the request
/// could not reach it, or it died under the request). Anything else for an acknowledged file
/// (no such file, no space, an I/O error, other bytes) is the bug this soak is for: it is on
/// s0's disk, and reading it needs neither space nor anything a restart loses.
fn is_bad(err: &str) -> bool {
    const RESTARTING: [&str; 7] = [
        " is failed",
        " is starting",
        " is booted",
        "failed during the request",
        "unreachable",
        "did not answer",
        "not connected",
    ];
    !RESTARTING.iter().any(|r| err.contains(r))
}

/// Stops the soak's threads even if an assertion fails mid-way.
struct StopOnDrop<'a>(&'a AtomicBool);
impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn soak(run_secs: u64) {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let name = "soak";
    let seed = seed();
    eprintln!("storage soak: seed {seed}, {run_secs} s (LEGO_SOAK_SEED, LEGO_SOAK_SECS)");
    rt.json(&[
        "up", "--name", name, "-p", "1", "-m", "2", "-s", "1", "--json",
    ]);
    let caches: Vec<String> = VNODES
        .iter()
        .map(|v| {
            let j = rt.json(&["vnode", "create", "--name", name, v, "--json"]);
            j["cache"].as_str().unwrap_or("").to_string()
        })
        .collect();
    assert_eq!(
        caches,
        ["m0", "m1"],
        "the vNodes should be cached at m0 and m1"
    );
    let atomic = put_is_atomic(&rt);
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = AtomicBool::new(false);
    let deadline = Instant::now() + Duration::from_secs(run_secs);
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        for w in 0..2u64 {
            let (rt, log, stop, tmp) = (&rt, log.clone(), &stop, tmp.path());
            s.spawn(move || {
                let mut r = Rng::new(seed ^ (w + 1).wrapping_mul(0xA5A5_5A5A));
                let src = tmp.join(format!("w{w}"));
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let vnode = VNODES[(i % 2) as usize];
                    let len = 16 * 1024 + r.below((1 << 20) - 16 * 1024 + 1) as usize;
                    let fseed = r.next();
                    let path = format!("/w{w}/d{}/f{i}", r.below(4));
                    std::fs::write(&src, content(fseed, len)).expect("write a local file");
                    let o = rt.lego(&[
                        "put",
                        "--name",
                        name,
                        "-p",
                        &src.display().to_string(),
                        &format!("{vnode}:{path}"),
                    ]);
                    let acked = o.status.success();
                    let oldest = {
                        let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
                        l.puts.push(Put {
                            vnode,
                            path,
                            seed: fseed,
                            len,
                            acked,
                            error: stderr(&o).trim().to_string(),
                            removed: None,
                        });
                        let mine =
                            |p: &&mut Put| p.live() && p.path.starts_with(&format!("/w{w}/"));
                        let kept: usize = l.puts.iter_mut().filter(mine).map(|p| p.len).sum();
                        if kept > keep_bytes() {
                            l.puts.iter_mut().find(mine).map(|p| {
                                p.removed = Some(false);
                                (p.vnode, p.path.clone())
                            })
                        } else {
                            None
                        }
                    };
                    if let Some((v, p)) = oldest {
                        let o = rt.lego(&["rm", "--name", name, &format!("{v}:{p}")]);
                        if o.status.success() {
                            let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
                            if let Some(x) = l.puts.iter_mut().find(|x| x.vnode == v && x.path == p)
                            {
                                x.removed = Some(true);
                            }
                        }
                    }
                    if !acked {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    i += 1;
                }
            });
        }
        {
            let (rt, log, stop, tmp) = (&rt, log.clone(), &stop, tmp.path());
            s.spawn(move || {
                let mut r = Rng::new(seed ^ 0x6E7);
                let out = tmp.join("got");
                while !stop.load(Ordering::Relaxed) {
                    let pick = {
                        let l = log.lock().unwrap_or_else(|p| p.into_inner());
                        let acked: Vec<&Put> = l.puts.iter().filter(|p| p.live()).collect();
                        (!acked.is_empty())
                            .then(|| acked[r.below(acked.len() as u64) as usize].clone())
                    };
                    let Some(p) = pick else {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    };
                    let res = get(rt, name, p.vnode, &p.path, &out).and_then(|got| {
                        if got == content(p.seed, p.len) {
                            Ok(())
                        } else {
                            Err(format!("{} bytes, differs", got.len()))
                        }
                    });
                    let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
                    // Removed meanwhile (to keep the disk from filling): not the cache's doing.
                    let gone = l
                        .puts
                        .iter()
                        .any(|x| x.vnode == p.vnode && x.path == p.path && !x.live());
                    match res {
                        Ok(()) => l.gets_ok += 1,
                        Err(e) => {
                            l.gets_failed += 1;
                            let kind = e.rsplit(": ").next().unwrap_or("").to_string();
                            *l.get_errors.entry(kind).or_default() += 1;
                            if is_bad(&e) && !gone {
                                l.bad_gets.push(format!("{}:{}: {e}", p.vnode, p.path));
                            }
                            drop(l);
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
            });
        }
        // The kills, on the seeded schedule.
        let mut r = Rng::new(seed ^ 0xC0FFEE);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(3000 + r.below(5001)));
            let victim = ["s0", "m0", "m1"][r.below(3) as usize];
            ok(&rt, &["kill", "--name", name, victim]);
            ok(&rt, &["restart", "--name", name, victim]);
            log.lock()
                .unwrap_or_else(|p| p.into_inner())
                .kills
                .push(victim.to_string());
        }
        // A few more files against the last incarnations.
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
    });
    let log = Arc::try_unwrap(log)
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .unwrap_or_else(|_| panic!("threads still hold the log"));
    let acked = log.puts.iter().filter(|p| p.acked).count();
    let removed = log.puts.iter().filter(|p| p.removed.is_some()).count();
    eprintln!(
        "storage soak: {} puts ({acked} acknowledged, {removed} of them removed since), {} gets \
         ok, {} failed, kills {:?}",
        log.puts.len(),
        log.gets_ok,
        log.gets_failed,
        log.kills
    );
    let mut why: BTreeMap<String, usize> = BTreeMap::new();
    for p in log.puts.iter().filter(|p| !p.acked) {
        // "error: va:/w0/d1/f12: storage component unreachable" -> what after the path.
        let kind = p.error.rsplit(": ").next().unwrap_or("").to_string();
        *why.entry(kind).or_default() += 1;
    }
    eprintln!("storage soak: failed puts by error: {why:?}");
    eprintln!("storage soak: failed gets by error: {:?}", log.get_errors);
    assert!(acked >= 20, "only {acked} puts were acknowledged");
    assert!(log.kills.len() >= 3, "only {} kills", log.kills.len());
    assert!(
        log.bad_gets.is_empty(),
        "acknowledged files missing or different during the soak: {:?}",
        log.bad_gets
    );
    // Nothing is restarted from here on.
    let all_ready = rt.states(name).iter().all(|(_, s)| s == "ready");
    assert!(all_ready, "{:?}", rt.states(name));
    check_acknowledged(&rt, name, tmp.path(), &log.puts);
    check_presence(&rt, name, &log.puts, atomic);
    ok(&rt, &["down", "--name", name, "--wipe"]);
}

/// Every acknowledged file reads back identical (retrying only errors a component that is
/// still reconnecting explains, for up to 10 s; never a missing or different file).
fn check_acknowledged(rt: &Rt, name: &str, tmp: &Path, puts: &[Put]) {
    let out = tmp.join("check");
    let mut bad = Vec::new();
    for p in puts.iter().filter(|p| p.live()) {
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            match get(rt, name, p.vnode, &p.path, &out) {
                Ok(got) if got == content(p.seed, p.len) => break,
                Ok(got) => {
                    bad.push(format!(
                        "{}:{}: {} bytes, differs (want {})",
                        p.vnode,
                        p.path,
                        got.len(),
                        p.len
                    ));
                    break;
                }
                Err(e) if is_bad(&e) || Instant::now() > give_up => {
                    bad.push(format!("{}:{}: {e}", p.vnode, p.path));
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
    let n = puts.iter().filter(|p| p.live()).count();
    assert!(
        bad.is_empty(),
        "{} of {n} acknowledged files unreadable or different at the end: {:?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
}

/// Every file present was attempted (removed ones may be back: see below): under its final
/// name only if acknowledged (or, with an all-or-nothing `put`, a put whose reply was lost
/// after its rename: then whole), else as a
/// temporary `.NAME.lego-tmp-*` of an attempted put. Until `lego put` writes under temporary
/// names (another branch; `put_is_atomic` checks `lego put --help`), an interrupted put leaves
/// a partial file under its final name: those are counted and printed, not failed.
fn check_presence(rt: &Rt, name: &str, puts: &[Put], atomic: bool) {
    let attempted: BTreeMap<(&str, &str), &Put> = puts
        .iter()
        .map(|p| ((p.vnode, p.path.as_str()), p))
        .collect();
    let mut partial = Vec::new();
    let mut strangers = Vec::new();
    let mut temps = 0;
    for vnode in VNODES {
        let files = list_files(rt, name, vnode).unwrap_or_else(|e| panic!("{e}"));
        for (path, size) in files {
            if let Some(p) = attempted.get(&(vnode, path.as_str())) {
                // A removed file may be back: an unlink is durable only with the sComponent's
                // next commit, and a kill of s0 before it undoes it (as on Linux without an
                // fsync of the directory).
                if !p.acked {
                    partial.push(format!("{vnode}:{path} ({size} of {} bytes)", p.len));
                }
                continue;
            }
            let (dir, base) = path.rsplit_once('/').unwrap_or(("", &path));
            let temp_of = base
                .strip_prefix('.')
                .and_then(|b| b.split_once(".lego-tmp-"))
                .map(|(n, _)| format!("{dir}/{n}"));
            match temp_of {
                Some(t) if attempted.contains_key(&(vnode, t.as_str())) => temps += 1,
                _ => strangers.push(format!("{vnode}:{path}")),
            }
        }
    }
    let unacked = puts.iter().filter(|p| !p.acked).count();
    eprintln!(
        "storage soak: {unacked} puts not acknowledged; {} of them left a file under their \
         name, {temps} temporary files (put writes under temporary names: {atomic})",
        partial.len()
    );
    assert!(
        strangers.is_empty(),
        "files nobody put: {:?}",
        &strangers[..strangers.len().min(20)]
    );
    if atomic {
        // An all-or-nothing put leaves a file under its name only once it is whole: a reply
        // lost after the rename is the only way to see one unacknowledged, and it is whole.
        let mut torn = Vec::new();
        for p in puts.iter().filter(|p| !p.acked) {
            let files = list_files(rt, name, p.vnode).unwrap_or_default();
            if let Some(&size) = files.get(&p.path)
                && size != p.len as u64
            {
                torn.push(format!(
                    "{}:{} ({size} of {} bytes)",
                    p.vnode, p.path, p.len
                ));
            }
        }
        assert!(torn.is_empty(), "partial files under final names: {torn:?}");
    } else if !partial.is_empty() {
        eprintln!(
            "storage soak: partial files of interrupted puts (expected until put is atomic): {:?}",
            &partial[..partial.len().min(10)]
        );
    }
}

#[test]
fn storage_soak_short() {
    soak(secs("LEGO_SOAK_SECS", 70));
}

#[test]
#[ignore = "long soak (10 minutes, LEGO_SOAK_LONG_SECS): run with --ignored"]
fn storage_soak_long() {
    soak(secs("LEGO_SOAK_LONG_SECS", 600));
}

/// The longest time m0 could not take requests, from its console (`None` if it never
/// reported one: under 1 ms, or an m0 that does not report it).
fn longest_wait_ms(rt: &Rt, name: &str) -> Option<f64> {
    let log = ok(rt, &["logs", "--name", name, "m0"]);
    log.lines()
        .filter_map(|l| l.split("longest wait for requests so far: ").nth(1))
        .filter_map(|rest| rest.split(" ms").next()?.parse::<f64>().ok())
        .fold(None, |m: Option<f64>, w| Some(m.map_or(w, |m| m.max(w))))
}

/// A 256 MiB put does not hold other requests at the mComponent: its data is written back
/// while it comes (write-behind, with an fsync every 1 MiB) and its fsync in steps, so a request
/// arriving at any moment is taken within a few milliseconds. Measured at m0 (its console
/// reports each new longest wait): the host still runs one file operation at a time, so no
/// other request can actually arrive during the put on this branch (see the next test).
#[test]
fn a_big_put_holds_other_requests_for_milliseconds_at_the_mcomponent() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let name = "hold";
    rt.json(&[
        "up", "--name", name, "-p", "1", "-m", "1", "-s", "1", "--json",
    ]);
    rt.json(&["vnode", "create", "--name", name, "web", "--json"]);
    let big = tmp.path().join("big");
    std::fs::write(&big, content(256, 256 << 20)).expect("write a local file");
    let t = Instant::now();
    ok(
        &rt,
        &[
            "put",
            "--name",
            name,
            &big.display().to_string(),
            "web:/big",
        ],
    );
    let put_ms = t.elapsed().as_secs_f64() * 1e3;
    let wait = longest_wait_ms(&rt, name).expect("m0 reports its longest wait for requests");
    eprintln!("256 MiB put in {put_ms:.0} ms; m0's longest wait for requests {wait:.1} ms");
    // The steps are ~2-5 ms and the longest wait over a put 10-30 ms on this shared 2-core
    // host (a vCPU that loses its core for a while counts too); before write-behind and steps
    // the put's fsync held every request for 2-3 s. The bound is the worst single wait, not
    // the p99 of reads (50 ms, the next test), so it leaves room for the host.
    assert!(
        wait < 100.0,
        "m0 held requests for {wait} ms during the put"
    );
    let out = tmp.path().join("got");
    let got = get(&rt, name, "web", "/big", &out).expect("get the file back");
    assert!(got == content(256, 256 << 20), "the big file differs");
    ok(&rt, &["down", "--name", name, "--wipe"]);
}

/// The user-visible form: 4 KiB gets of another file, on the same vNode, while a 256 MiB put
/// runs, each under 50 ms at p99 (the manager runs file operations side by side; the
/// mComponent serves long work in steps).
#[test]
fn small_gets_during_a_big_put_finish_in_under_50_ms_p99() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let name = "p99";
    rt.json(&[
        "up", "--name", name, "-p", "1", "-m", "1", "-s", "1", "--json",
    ]);
    rt.json(&["vnode", "create", "--name", name, "web", "--json"]);
    let small = tmp.path().join("small");
    std::fs::write(&small, content(4, 4096)).expect("write a local file");
    ok(
        &rt,
        &[
            "put",
            "--name",
            name,
            &small.display().to_string(),
            "web:/small",
        ],
    );
    let big = tmp.path().join("big");
    std::fs::write(&big, content(256, 256 << 20)).expect("write a local file");
    let done = AtomicBool::new(false);
    let mut lat = Vec::new();
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&done);
        let putter = s.spawn(|| {
            let r = rt.lego(&[
                "put",
                "--name",
                name,
                &big.display().to_string(),
                "web:/big",
            ]);
            done.store(true, Ordering::Relaxed);
            r
        });
        let out = tmp.path().join("got");
        while !done.load(Ordering::Relaxed) {
            // The CLI's own start-up is not the cache's: subtract an idle get's time below.
            let t = Instant::now();
            let got = get(&rt, name, "web", "/small", &out).expect("get the small file");
            lat.push(t.elapsed());
            assert_eq!(got, content(4, 4096));
        }
        let o = putter.join().expect("putter");
        assert!(o.status.success(), "{}", stderr(&o));
    });
    let idle: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            get(&rt, name, "web", "/small", &tmp.path().join("got")).expect("get");
            t.elapsed()
        })
        .collect();
    let base = *idle.iter().min().unwrap_or(&Duration::ZERO);
    lat.sort();
    assert!(lat.len() >= 20, "only {} gets during the put", lat.len());
    let p99 = lat[(lat.len() * 99).div_ceil(100) - 1].saturating_sub(base);
    eprintln!(
        "{} gets during a 256 MiB put: p99 {:?} over an idle get ({base:?})",
        lat.len(),
        p99
    );
    assert!(p99 < Duration::from_millis(50), "p99 {p99:?}");
    ok(&rt, &["down", "--name", name, "--wipe"]);
}

#[test]
fn the_schedule_is_a_function_of_the_seed() {
    let run = |seed: u64| -> Vec<u64> {
        let mut r = Rng::new(seed);
        (0..16).map(|_| r.below(5001)).collect()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    assert_eq!(content(3, 1000), content(3, 1000));
    assert_eq!(content(3, 1001).len(), 1001);
    let set: BTreeSet<Vec<u8>> = (0..8).map(|s| content(s, 64)).collect();
    assert_eq!(set.len(), 8);
}
