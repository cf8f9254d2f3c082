//! The fuzz targets' bodies (`fuzz/src/bodies.rs`) on seeded pseudo-random inputs, so every
//! `cargo test` exercises them on stable Rust without cargo-fuzz. Set `FUZZ_REPLAY_CASES` to run
//! more cases per body. Files in `fuzz/regressions/<target>/` (minimized inputs of fixed
//! crashes) are replayed too.
//!
//! A failure prints the input as hex: `echo <hex> | xxd -r -p > crash` reproduces it with
//! `cargo +nightly fuzz run <target> crash` (see `fuzz/README.md`).

#[path = "../../fuzz/src/bodies.rs"]
mod bodies;

use std::panic::{self, UnwindSafe};
use std::path::Path;

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn cases(default: u64) -> u64 {
    std::env::var("FUZZ_REPLAY_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs `body` on `input`; on a panic, fails naming the input.
fn run(target: &str, what: &str, input: &[u8], body: impl FnOnce(&[u8]) + UnwindSafe) {
    if panic::catch_unwind(|| body(input)).is_err() {
        let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
        panic!(
            "fuzz body {target} failed on {what}; input ({} bytes):\n{hex}",
            input.len()
        );
    }
}

/// Replays the checked-in regression inputs of `target`.
fn regressions(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for f in files {
        let input = std::fs::read(&f).expect("read a regression input");
        run(target, &f.display().to_string(), &input, body);
    }
}

/// Replays `target`'s regressions, the empty input, then `default_cases` inputs from `input_for`
/// (seeded with `seed`).
fn replay(
    target: &str,
    body: fn(&[u8]),
    seed: u64,
    default_cases: u64,
    mut input_for: impl FnMut(&mut Rng) -> Vec<u8>,
) {
    regressions(target, body);
    run(target, "empty input", &[], body);
    let mut rng = Rng(seed);
    for case in 0..cases(default_cases) {
        let input = input_for(&mut rng);
        run(target, &format!("case {case}"), &input, body);
    }
}

#[test]
fn fs_request() {
    replay("fs_request", bodies::fs_request, 0x5eed_0001, 5000, |rng| {
        let len = rng.below(2000) as usize;
        rng.bytes(len)
    });
}

/// Mostly plausible request frames (a header with small lengths, then that many bytes), some
/// slightly off, some pure noise: random bytes alone almost never frame correctly.
fn frame(rng: &mut Rng) -> Vec<u8> {
    if rng.below(4) == 0 {
        let len = rng.below(96) as usize;
        return rng.bytes(len);
    }
    let (p1, p2, data) = (rng.below(24), rng.below(3) * rng.below(16), rng.below(48));
    let mut out = rng.bytes(32);
    out[16..20].copy_from_slice(&(data as u32).to_le_bytes());
    out[20..22].copy_from_slice(&(p1 as u16).to_le_bytes());
    out[22..24].copy_from_slice(&(p2 as u16).to_le_bytes());
    if rng.below(2) == 0 {
        out[4..8].copy_from_slice(&(rng.below(8) as u32).to_le_bytes()); // plausible flags
    }
    let body = p1 + p2 + if rng.below(2) == 0 { data } else { 0 };
    out.extend((0..body).map(|_| b"/abc-xyz."[rng.below(9) as usize]));
    match rng.below(8) {
        0 => {
            out.pop();
        }
        1 => out.push(0),
        2 => {
            let at = rng.below(out.len() as u64) as usize;
            out[at] = rng.next() as u8;
        }
        _ => {}
    }
    out
}

/// A plausible `READDIR` reply: a header and entries, sometimes off by a little.
fn listing(rng: &mut Rng) -> Vec<u8> {
    let n = rng.below(6);
    let mut out = Vec::new();
    out.extend_from_slice(&(n as u32 + u32::from(rng.below(8) == 0)).to_le_bytes());
    out.extend_from_slice(&rng.bytes(12));
    for _ in 0..n {
        let len = rng.below(12) as usize;
        out.push(rng.below(3) as u8);
        out.push(len as u8);
        out.extend((0..len).map(|_| b"abc\xff"[rng.below(4) as usize]));
    }
    if rng.below(8) == 0 {
        out.push(1);
    }
    out
}

#[test]
fn proto_decode() {
    replay(
        "proto_decode",
        bodies::proto_decode,
        0x5eed_0002,
        20_000,
        |rng| match rng.below(3) {
            0 => listing(rng),
            1 => {
                let len = rng.below(300) as usize;
                rng.bytes(len)
            }
            _ => frame(rng),
        },
    );
}

#[test]
fn image_mount() {
    replay(
        "image_mount",
        bodies::image_mount,
        0x5eed_0003,
        6000,
        |rng| {
            let len = rng.below(96) as usize;
            rng.bytes(len)
        },
    );
}
