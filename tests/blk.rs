//! The storage component's disk: `lego boot --role smon --disk FILE` attaches a host file as a
//! virtio-blk device; the guest's block self-test writes a known pattern through it, and the host
//! checks the file byte for byte. Bad images are one-line errors; a disk too small for the
//! pattern is an error in the guest, not a crash of the VMM.

mod common;

use std::path::Path;

use common::*;
use lego_abi::virtio_blk::fill_pattern;

const BLOCK: usize = 4096;

/// A sparse image of `bytes` in `dir`.
fn image(dir: &Path, name: &str, bytes: u64) -> std::path::PathBuf {
    let p = dir.join(name);
    assert!(vmm::disk::create_image(&p, bytes).expect("creating a disk image"));
    p
}

/// Boots smon with `disk` and guest words `words`; returns the output.
fn boot_smon(disk: &Path, extra: &[&str], words: &str) -> std::process::Output {
    let disk = disk.to_str().expect("UTF-8 path");
    let mut args = vec!["boot", "--role", "smon", "--disk", disk, "--cmdline", words];
    args.extend_from_slice(extra);
    run(&args)
}

/// Asserts the boot succeeded and the guest's self-test passed; returns its console.
fn assert_selftest_ok(o: &std::process::Output) -> String {
    let console = stderr(o);
    assert!(o.status.success(), "{}\n{console}", o.status);
    assert!(console.contains("[s0] blk selftest ok: "), "{console}");
    assert!(!console.contains("FAILED"), "{console}");
    if let Some(t) = console.lines().find(|l| l.contains("blk timing:")) {
        eprintln!("{t}");
    }
    console
}

/// Checks the first `n` blocks of `file` hold the pattern of `seed` and the rest is zeros.
fn assert_pattern_in_file(file: &Path, seed: u64, n: usize) {
    let bytes = std::fs::read(file).expect("reading the image");
    let mut want = vec![0u8; BLOCK];
    for (b, got) in bytes.chunks(BLOCK).enumerate() {
        if b < n {
            fill_pattern(seed, b as u64, &mut want);
            assert!(
                got == &want[..],
                "block {b} of the image is not the pattern"
            );
        } else {
            assert!(
                got.iter().all(|&x| x == 0),
                "block {b} past the pattern was written"
            );
        }
    }
}

#[test]
fn the_guests_pattern_lands_in_the_file_byte_for_byte() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let disk = image(dir.path(), "s0.img", 4 << 20);
    let o = boot_smon(&disk, &[], "blk_selftest=write blk_seed=7 blk_blocks=300");
    let console = assert_selftest_ok(&o);
    assert!(console.contains("[s0] smon: disk 4 MiB"), "{console}");
    assert!(
        console.contains("[s0] blk: 1024 blocks (4 MiB), id s0.img"),
        "{console}"
    );
    assert!(
        console.contains(
            "wrote 300 blocks (seed 7), read back with 300 single and 5 multi-block reads"
        ),
        "{console}"
    );
    assert_pattern_in_file(&disk, 7, 300);
}

#[test]
fn a_second_boot_reads_back_what_the_first_wrote() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let disk = image(dir.path(), "s0.img", 8 << 20);
    assert_selftest_ok(&boot_smon(
        &disk,
        &[],
        "blk_selftest=write blk_seed=3 blk_blocks=1000",
    ));
    // A new VMM process, the same file.
    let o = boot_smon(&disk, &[], "blk_selftest=verify blk_seed=3 blk_blocks=1000");
    let console = assert_selftest_ok(&o);
    assert!(
        console.contains("verified 1000 blocks (seed 3)"),
        "{console}"
    );
    // Verification is real: another seed does not match.
    let o = boot_smon(&disk, &[], "blk_selftest=verify blk_seed=4 blk_blocks=1000");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("[s0] blk selftest FAILED: block 0 differs at byte 0"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_guest_reads_what_the_host_wrote() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("host.img");
    let mut bytes = vec![0u8; 1 << 20];
    for (b, chunk) in bytes.chunks_mut(BLOCK).enumerate() {
        fill_pattern(11, b as u64, chunk);
    }
    std::fs::write(&disk, &bytes).unwrap();
    let o = boot_smon(&disk, &[], "blk_selftest=verify blk_seed=11 blk_blocks=256");
    assert_selftest_ok(&o);
    // One flipped byte is found.
    bytes[77 * BLOCK + 100] ^= 0x40;
    std::fs::write(&disk, &bytes).unwrap();
    let o = boot_smon(&disk, &[], "blk_selftest=verify blk_seed=11 blk_blocks=256");
    assert!(
        stderr(&o).contains("blk selftest FAILED: block 77 differs at byte 100"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn direct_io_disk_works_end_to_end() {
    require_kvm();
    // O_DIRECT needs a real file system: the build directory rather than a tmpfs /tmp.
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tempfile::tempdir_in(base).unwrap();
    let disk = image(dir.path(), "direct.img", 16 << 20);
    let o = boot_smon(
        &disk,
        &["--disk-direct"],
        "blk_selftest=write blk_seed=5 blk_blocks=2048",
    );
    assert_selftest_ok(&o);
    assert_pattern_in_file(&disk, 5, 2048);
    let o = boot_smon(
        &disk,
        &["--disk-direct"],
        "blk_selftest=verify blk_seed=5 blk_blocks=2048",
    );
    assert_selftest_ok(&o);
}

#[test]
fn bad_disk_images_are_one_line_errors() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.img");
    let o = boot_smon(&missing, &["-q"], "");
    assert_one_line_error(
        &o,
        1,
        &format!("disk image {}: no such file", missing.display()),
    );

    let empty = dir.path().join("empty.img");
    std::fs::write(&empty, b"").unwrap();
    let o = boot_smon(&empty, &["-q"], "");
    assert_one_line_error(&o, 1, "empty.img: is empty");

    let odd = dir.path().join("odd.img");
    std::fs::write(&odd, vec![0u8; 5000]).unwrap();
    let o = boot_smon(&odd, &["-q"], "");
    assert_one_line_error(&o, 1, "odd.img: size 5000 bytes is not a multiple of 4096");

    let o = boot_smon(dir.path(), &["-q"], "");
    assert_one_line_error(&o, 1, "not a regular file (a directory)");
}

#[test]
fn a_disk_smaller_than_the_pattern_fails_in_the_guest_not_the_vmm() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let disk = image(dir.path(), "small.img", 64 << 10);
    let o = boot_smon(&disk, &[], "blk_selftest=write blk_blocks=256");
    let console = stderr(&o);
    assert!(o.status.success(), "the guest still boots: {console}");
    assert!(
        console.contains("[s0] blk: 16 blocks (0 MiB), id small.img"),
        "{console}"
    );
    assert!(
        console.contains(
            "[s0] blk selftest FAILED: 256 blocks asked for but the disk has 16 \
             (driver: block 16 is beyond the device's 16 blocks; device: I/O error at block 16)"
        ),
        "{console}"
    );
    assert!(stdout(&o).contains("smon ready in"), "{}", stdout(&o));
    // Nothing was written.
    assert!(std::fs::read(&disk).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn without_a_disk_smon_says_so() {
    require_kvm();
    let o = run(&["boot", "--role", "smon"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("[s0] smon: no disk attached"),
        "{}",
        stderr(&o)
    );
}
