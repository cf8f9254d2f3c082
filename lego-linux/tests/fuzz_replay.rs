//! The ELF loader's fuzz body (`fuzz/src/elf_body.rs`, the cargo-fuzz target `elf_load`) on
//! seeded inputs in every `cargo test`: random bytes, and real executables with bytes flipped
//! in their headers.

#[path = "../../fuzz/src/elf_body.rs"]
mod elf_body;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_bytes() {
    let mut r = Rng(0x5eed_e1f0);
    for _ in 0..3000 {
        let len = (r.next() % 4096) as usize;
        let mut v: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
        if len >= 4 && r.next().is_multiple_of(2) {
            v[..4].copy_from_slice(b"\x7fELF");
        }
        elf_body::elf_load(&v);
    }
}

#[test]
fn mutated_executables() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for p in ["/proc/self/exe", "/bin/true", "/bin/ls"] {
        if let Ok(b) = std::fs::read(p) {
            seeds.push(b);
        }
    }
    assert!(!seeds.is_empty(), "no executable to mutate");
    // The same with PT_INTERP blanked: static-looking images that the checks accept, so the
    // mutations exercise the accepted path too.
    let mut accepted = 0;
    for s in seeds.clone() {
        let mut v = s;
        let (phoff, phnum) = (
            u64::from_le_bytes(v[32..40].try_into().expect("8 bytes")) as usize,
            u16::from_le_bytes([v[56], v[57]]) as usize,
        );
        for i in 0..phnum {
            let at = phoff + 56 * i;
            if v.get(at..at + 4) == Some(&3u32.to_le_bytes()[..]) {
                v[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
            }
        }
        let len = v.len() as u64;
        if lego_linux::elf::read_image(len, |o, b: &mut [u8]| -> Result<(), ()> {
            b.copy_from_slice(v.get(o as usize..o as usize + b.len()).ok_or(())?);
            Ok(())
        })
        .is_ok()
        {
            accepted += 1;
        }
        seeds.push(v);
    }
    assert!(
        accepted > 0,
        "no seed is accepted: the mutations would test refusals only"
    );
    let mut r = Rng(0x5eed_e1f1);
    for i in 0..2000 {
        let mut v = seeds[i % seeds.len()].clone();
        let flips = 1 + r.next() % 8;
        for _ in 0..flips {
            // Mostly in the headers, where the checks are.
            let at = (r.next() % 1024.min(v.len() as u64)) as usize;
            v[at] ^= 1 << (r.next() % 8);
        }
        elf_body::elf_load(&v);
    }
}
