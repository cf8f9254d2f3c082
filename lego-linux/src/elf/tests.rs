//! Tests: hand-built headers (so the tests do not depend on the host compiler), real binaries of
//! this machine where they exist, and properties over random and mutated headers.

use super::raw::*;
use super::*;
use proptest::prelude::*;
use zerocopy::IntoBytes;

/// A fake executable: its headers and the length the file claims.
#[derive(Clone, Debug)]
struct Fake {
    ehdr: Ehdr,
    phdrs: Vec<Phdr>,
    /// Other bytes at offsets (the interpreter path).
    extra: Vec<(usize, Vec<u8>)>,
    file_len: u64,
}

fn ehdr(e_type: u16, entry: u64, phnum: usize) -> Ehdr {
    let mut e = Ehdr::default();
    e.e_ident[..4].copy_from_slice(&ELFMAG);
    e.e_ident[EI_CLASS] = ELFCLASS64;
    e.e_ident[EI_DATA] = ELFDATA2LSB;
    e.e_ident[6] = 1;
    e.e_type.set(e_type);
    e.e_machine.set(EM_X86_64);
    e.e_version.set(1);
    e.e_entry.set(entry);
    e.e_phoff.set(EHDR_LEN as u64);
    e.e_ehsize.set(EHDR_LEN as u16);
    e.e_phentsize.set(PHDR_LEN as u16);
    e.e_phnum.set(u16::try_from(phnum).unwrap());
    e
}

fn phdr(p_type: u32, flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Phdr {
    let mut p = Phdr::default();
    p.p_type.set(p_type);
    p.p_flags.set(flags);
    p.p_offset.set(offset);
    p.p_vaddr.set(vaddr);
    p.p_paddr.set(vaddr);
    p.p_filesz.set(filesz);
    p.p_memsz.set(memsz);
    p.p_align.set(if p_type == PT_LOAD { 0x1000 } else { 8 });
    p
}

const R: u32 = PF_R;
const RX: u32 = PF_R | PF_X;
const RW: u32 = PF_R | PF_W;

impl Fake {
    fn new(e_type: u16, entry: u64, phdrs: Vec<Phdr>, file_len: u64) -> Fake {
        Fake {
            ehdr: ehdr(e_type, entry, phdrs.len()),
            phdrs,
            extra: Vec::new(),
            file_len,
        }
    }

    /// Laid out like `gcc -static` output on this kind of machine.
    fn static_exec() -> Fake {
        Fake::new(
            ET_EXEC,
            0x40_1650,
            vec![
                phdr(PT_LOAD, R, 0, 0x40_0000, 0x528, 0x528),
                phdr(PT_LOAD, RX, 0x1000, 0x40_1000, 0x7_e5a1, 0x7_e5a1),
                phdr(PT_LOAD, R, 0x8_0000, 0x48_0000, 0x2_584c, 0x2_584c),
                phdr(PT_LOAD, RW, 0xa_67b0, 0x4a_77b0, 0x5ab0, 0xb388),
                phdr(PT_NOTE, R, 0x270, 0x40_0270, 0x40, 0x40),
                phdr(PT_TLS, R, 0xa_67b0, 0x4a_77b0, 0x18, 0x58),
                phdr(PT_GNU_STACK, RW, 0, 0, 0, 0),
                phdr(0x6474_e552, R, 0xa_67b0, 0x4a_77b0, 0x2850, 0x2850),
            ],
            0xa_d000,
        )
    }

    /// Laid out like `gcc -static-pie` output.
    fn static_pie() -> Fake {
        Fake::new(
            ET_DYN,
            0x9e50,
            vec![
                phdr(PT_LOAD, R, 0, 0, 0x8b48, 0x8b48),
                phdr(PT_LOAD, RX, 0x9000, 0x9000, 0x8_cf1d, 0x8_cf1d),
                phdr(PT_LOAD, R, 0x9_6000, 0x9_6000, 0x2_a4b4, 0x2_a4b4),
                phdr(PT_LOAD, RW, 0xc_1a30, 0xc_2a30, 0x6d40, 0xc700),
                phdr(PT_DYNAMIC, RW, 0xc_5bd8, 0xc_6bd8, 0x1b0, 0x1b0),
                phdr(PT_TLS, R, 0xc_1a30, 0xc_2a30, 0x18, 0x58),
                phdr(PT_GNU_STACK, RW, 0, 0, 0, 0),
            ],
            0xc_8800,
        )
    }

    /// A dynamically linked PIE, like `/bin/ls`.
    fn dynamic() -> Fake {
        let interp = b"/lib64/ld-linux-x86-64.so.2\0".to_vec();
        let mut f = Fake::new(
            ET_DYN,
            0x6ab0,
            vec![
                phdr(PT_PHDR, R, 0x40, 0x40, 0x2d8, 0x2d8),
                phdr(
                    PT_INTERP,
                    R,
                    0x318,
                    0x318,
                    interp.len() as u64,
                    interp.len() as u64,
                ),
                phdr(PT_LOAD, R, 0, 0, 0x3428, 0x3428),
                phdr(PT_LOAD, RX, 0x4000, 0x4000, 0x1_3146, 0x1_3146),
            ],
            0x2_0000,
        );
        f.extra.push((0x318, interp));
        f
    }

    fn headers(&self) -> Vec<u8> {
        let phoff = usize::try_from(self.ehdr.e_phoff.get()).unwrap_or(usize::MAX);
        let mut end = EHDR_LEN;
        if !self.phdrs.is_empty() {
            end = end.max(phoff.saturating_add(self.phdrs.len() * PHDR_LEN));
        }
        for (at, bytes) in &self.extra {
            end = end.max(at + bytes.len());
        }
        assert!(end <= 1 << 20, "test headers too large");
        let mut b = vec![0; end];
        b[..EHDR_LEN].copy_from_slice(self.ehdr.as_bytes());
        for (i, p) in self.phdrs.iter().enumerate() {
            let at = phoff + i * PHDR_LEN;
            b[at..at + PHDR_LEN].copy_from_slice(p.as_bytes());
        }
        for (at, bytes) in &self.extra {
            b[*at..at + bytes.len()].copy_from_slice(bytes);
        }
        b
    }

    fn parse(&self) -> Result<ElfImage, ElfError> {
        parse(&self.headers(), self.file_len)
    }

    fn err(&self) -> String {
        self.parse().unwrap_err().to_string()
    }

    fn with(mut self, f: impl FnOnce(&mut Fake)) -> Fake {
        f(&mut self);
        self
    }
}

#[test]
fn static_exec_is_described() {
    let img = Fake::static_exec().parse().unwrap();
    assert_eq!(img.kind(), ElfKind::Exec);
    assert_eq!(img.entry(), 0x40_1650);
    assert_eq!(img.segments().len(), 4);
    let s = img.segments()[3];
    assert_eq!(
        (s.vaddr, s.memsz, s.offset, s.filesz),
        (0x4a_77b0, 0xb388, 0xa_67b0, 0x5ab0)
    );
    assert_eq!(
        s.prot,
        Prot {
            read: true,
            write: true,
            exec: false
        }
    );
    assert_eq!(s.prot.to_string(), "rw-");
    assert_eq!(img.segments()[1].prot.mmap_bits(), 5);
    assert_eq!(
        (s.map_start(), s.map_end(), s.map_offset()),
        (0x4a_7000, 0x4b_3000, 0xa_6000)
    );
    assert_eq!(s.file_end(), 0x4a_77b0 + 0x5ab0);
    assert_eq!(
        img.tls(),
        Some(Tls {
            vaddr: 0x4a_77b0,
            filesz: 0x18,
            memsz: 0x58,
            align: 8
        })
    );
    assert!(!img.exec_stack());
    assert_eq!(img.phdr(), 0x40_0040);
    assert_eq!((img.phent(), img.phnum()), (56, 8));
    assert_eq!(img.brk(), 0x4b_3000);
    assert_eq!(img.span(), 0x40_0000..0x4b_3000);
    assert_eq!(img.bias(), 0);
    assert_eq!(img.place(DEFAULT_PIE_BASE).unwrap(), img);
}

#[test]
fn pt_phdr_and_gnu_stack_are_read() {
    let img = Fake::static_exec()
        .with(|f| {
            f.phdrs
                .insert(0, phdr(PT_PHDR, R, 0x40, 0x40_0040, 9 * 56, 9 * 56));
            f.phdrs[7].p_flags.set(RW | PF_X);
            f.ehdr.e_phnum.set(9);
        })
        .parse()
        .unwrap();
    assert_eq!(img.phdr(), 0x40_0040);
    assert!(img.exec_stack());
    // A PT_PHDR outside every segment is refused.
    let f = Fake::static_exec().with(|f| {
        f.phdrs
            .insert(0, phdr(PT_PHDR, R, 0x40, 0x90_0000, 9 * 56, 9 * 56));
        f.ehdr.e_phnum.set(9);
    });
    assert_eq!(f.parse(), Err(ElfError::PhdrsNotLoaded));
    // No segment maps the table's file bytes.
    let f = Fake::static_exec().with(|f| f.phdrs[0].p_filesz.set(0x100));
    assert_eq!(
        f.err(),
        "bad program headers: they are not inside any PT_LOAD segment"
    );
}

#[test]
fn static_pie_is_placed() {
    let img = Fake::static_pie().parse().unwrap();
    assert_eq!(img.kind(), ElfKind::StaticPie);
    assert_eq!((img.entry(), img.phdr(), img.bias()), (0x9e50, 0x40, 0));
    let placed = img.place(DEFAULT_PIE_BASE).unwrap();
    let b = 0x5555_5555_4000;
    assert_eq!(placed.bias(), b);
    assert_eq!(placed.entry(), b + 0x9e50);
    assert_eq!(placed.phdr(), b + 0x40);
    assert_eq!(placed.segments()[3].vaddr, b + 0xc_2a30);
    assert_eq!(placed.segments()[3].offset, 0xc_1a30);
    assert_eq!(placed.tls().unwrap().vaddr, b + 0xc_2a30);
    assert_eq!(placed.brk(), b + 0xd_0000);
    // Placing again replaces the bias.
    assert_eq!(
        placed.place(0x10_0000).unwrap(),
        img.place(0x10_0000).unwrap()
    );
    assert_eq!(placed.place(0x10_0000).unwrap().entry(), 0x10_9e50);
    // An unaligned base is rounded up to the alignment.
    assert_eq!(img.place(0x10_0001).unwrap().bias(), 0x10_1000);
    // Out of room.
    assert_eq!(
        img.place(USER_END - 0x1000).unwrap_err().to_string(),
        "a static PIE spanning 0xd0000 bytes does not fit in the user range at 0x7fffffffe000"
    );
    img.place(0).unwrap_err(); // below MIN_ADDR
    img.place(u64::MAX).unwrap_err();
    assert_eq!(
        img.place(u64::MAX).unwrap_err().errno(),
        crate::errno::ENOMEM
    );
}

#[test]
fn static_pie_honours_large_alignment() {
    let img = Fake::static_pie()
        .with(|f| f.phdrs[1].p_align.set(0x20_0000))
        .parse()
        .unwrap();
    assert_eq!(img.max_align(), 0x20_0000);
    assert_eq!(
        img.place(DEFAULT_PIE_BASE).unwrap().bias(),
        0x5555_5560_0000
    );
    // A p_align that is not a power of two is ignored, as Linux does.
    let img = Fake::static_pie()
        .with(|f| f.phdrs[1].p_align.set(0x3000))
        .parse()
        .unwrap();
    assert_eq!(img.max_align(), PAGE_SIZE);
}

#[test]
fn dynamically_linked_is_refused_with_its_interpreter() {
    let f = Fake::dynamic();
    let headers = f.headers();
    // The protocol: 64 bytes -> the table -> the interpreter path.
    assert_eq!(
        header_len(&headers[..EHDR_LEN]),
        Ok(EHDR_LEN + 4 * PHDR_LEN)
    );
    assert_eq!(header_len(&headers[..10]), Ok(EHDR_LEN));
    assert_eq!(
        header_len(&headers[..EHDR_LEN + 4 * PHDR_LEN]),
        Ok(0x318 + 28)
    );
    let err = f.parse().unwrap_err();
    assert_eq!(
        err.to_string(),
        "dynamically linked (needs /lib64/ld-linux-x86-64.so.2): build it with -static"
    );
    assert_eq!(err.errno(), crate::errno::ENOEXEC);
    // Also for ET_EXEC.
    let f = Fake::dynamic().with(|f| f.ehdr.e_type.set(ET_EXEC));
    assert!(matches!(f.parse(), Err(ElfError::Dynamic(_))));
    // Given fewer bytes than asked for, the caller is told.
    assert_eq!(
        parse(&headers[..0x200], f.file_len),
        Err(ElfError::Incomplete {
            need: 0x318 + 28,
            have: 0x200
        })
    );
}

#[test]
fn interpreter_path_is_bounded_and_escaped() {
    let long = Fake::dynamic().with(|f| {
        let mut path = vec![b'a'; 300];
        path.push(0);
        f.phdrs[1].p_filesz.set(301);
        f.extra[0].1 = path;
    });
    let msg = long.err();
    assert!(msg.starts_with("dynamically linked (needs aaaa"), "{msg}");
    assert!(msg.ends_with("a...): build it with -static"), "{msg}");
    let Err(ElfError::Dynamic(interp)) = long.parse() else {
        panic!("{msg}")
    };
    assert_eq!(interp.as_bytes().len(), MAX_INTERP_SHOWN - 1);
    let odd = Fake::dynamic().with(|f| {
        f.extra[0].1 = b"/x\n\xff\0".to_vec();
        f.phdrs[1].p_filesz.set(5);
    });
    assert_eq!(
        odd.err(),
        "dynamically linked (needs /x\\x0a\\xff): build it with -static"
    );
    // A PT_INTERP far into the file is not read; the message still says what is wrong.
    let far = Fake::dynamic().with(|f| f.phdrs[1].p_offset.set(0x10_0000));
    assert_eq!(
        far.err(),
        "dynamically linked (needs a program interpreter): build it with -static"
    );
    // Past the end of the file.
    let past = Fake::dynamic().with(|f| f.phdrs[1].p_offset.set(0x3_0000));
    assert!(matches!(past.parse(), Err(ElfError::Dynamic(_))));
}

#[test]
fn identification_refusals() {
    assert_eq!(
        parse(b"#!/bin/sh\necho hi\n", 18).unwrap_err().to_string(),
        "not an ELF file (bad magic)"
    );
    assert_eq!(header_len(b"MZ"), Err(ElfError::NotElf));
    assert_eq!(parse(b"", 0), Err(ElfError::NotElf));
    assert_eq!(parse(b"\x7fEL", 3), Err(ElfError::NotElf));
    assert_eq!(
        parse(b"\x7fELF\x02\x01", 6).unwrap_err().to_string(),
        "truncated: the headers and segments need 64 bytes, the file has 6"
    );
    let f = Fake::static_exec().with(|f| {
        f.ehdr.e_ident[EI_CLASS] = ELFCLASS32;
        f.ehdr.e_machine.set(3);
    });
    assert_eq!(
        f.err(),
        "32-bit ELF for i386: only 64-bit x86-64 programs run here"
    );
    let f = Fake::static_exec().with(|f| {
        f.ehdr.e_ident[EI_DATA] = ELFDATA2MSB;
        f.ehdr.e_machine.set(21u16.swap_bytes());
    });
    assert_eq!(
        f.err(),
        "big-endian ELF for ppc64: only x86-64 programs run here"
    );
    let f = Fake::static_exec().with(|f| f.ehdr.e_ident[EI_CLASS] = 9);
    assert_eq!(
        f.err(),
        "corrupt ELF identification (class 9, data encoding 1)"
    );
    let f = Fake::static_exec().with(|f| f.ehdr.e_machine.set(183));
    assert_eq!(f.err(), "not an x86-64 program: built for aarch64");
    let f = Fake::static_exec().with(|f| f.ehdr.e_machine.set(0x1234));
    assert_eq!(f.err(), "not an x86-64 program: built for machine 0x1234");
    let f = Fake::static_exec().with(|f| f.ehdr.e_type.set(ET_REL));
    assert_eq!(
        f.err(),
        "not an executable: a relocatable object file (link it first)"
    );
    let f = Fake::static_exec().with(|f| f.ehdr.e_type.set(ET_CORE));
    assert_eq!(f.err(), "not an executable: a core dump");
    let f = Fake::static_exec().with(|f| f.ehdr.e_type.set(0xfe00));
    assert_eq!(f.err(), "not an executable: ELF type 0xfe00");
    let f = Fake::static_pie().with(|f| f.ehdr.e_entry.set(0));
    assert_eq!(
        f.err(),
        "not an executable: a shared library (no entry point)"
    );
}

#[test]
fn program_header_table_refusals() {
    let f = Fake::static_exec().with(|f| f.ehdr.e_phentsize.set(32));
    assert_eq!(f.err(), "bad program headers: entry size 32, expected 56");
    let f = Fake::static_exec().with(|f| f.ehdr.e_phnum.set(PN_XNUM));
    assert_eq!(f.err(), "too many program headers: 65535 (at most 128)");
    let f = Fake::static_exec().with(|f| f.ehdr.e_phoff.set(0x1_0000));
    assert_eq!(
        f.err(),
        "bad program headers: they end at byte 65984, past the first 65536 bytes of the file"
    );
    let mut far = Fake::static_exec().ehdr;
    far.e_phoff.set(u64::MAX - 8);
    assert_eq!(
        parse(far.as_bytes(), u64::MAX),
        Err(ElfError::HeadersTooFar { end: u64::MAX })
    );
    let f = Fake::static_exec().with(|f| {
        f.phdrs.clear();
        f.ehdr.e_phnum.set(0);
    });
    assert_eq!(f.err(), "no PT_LOAD segment: nothing to load");
    let f = Fake::static_exec().with(|f| f.phdrs.retain(|p| p.p_type.get() != PT_LOAD));
    let f = f.with(|f| f.ehdr.e_phnum.set(4));
    assert_eq!(f.parse(), Err(ElfError::NoLoadSegment));
    let f = Fake::new(
        ET_EXEC,
        0x40_0100,
        (0..33u64)
            .map(|i| {
                phdr(
                    PT_LOAD,
                    RX,
                    i * 0x1000,
                    0x40_0000 + i * 0x1000,
                    0x1000,
                    0x1000,
                )
            })
            .collect(),
        0x10_0000,
    );
    assert_eq!(f.err(), "too many PT_LOAD segments: 33 (at most 32)");
    // Headers past the end of the file.
    let f = Fake::static_exec().with(|f| f.file_len = 300);
    assert_eq!(
        f.err(),
        "truncated: the headers and segments need 512 bytes, the file has 300"
    );
}

#[test]
fn segment_refusals() {
    let check = |i: usize, set: fn(&mut Phdr), want: &str| {
        let f = Fake::static_exec().with(|f| set(&mut f.phdrs[i]));
        assert_eq!(f.err(), want);
    };
    check(
        3,
        |p| p.p_filesz.set(0xc000),
        "bad program header 3: p_filesz is larger than p_memsz",
    );
    check(
        3,
        |p| p.p_offset.set(0xa_67b8),
        "bad program header 3: p_offset and p_vaddr differ modulo the page size",
    );
    check(
        3,
        |p| p.p_memsz.set(u64::MAX),
        "bad program header 3: address or file offset overflows",
    );
    check(
        3,
        |p| p.p_offset.set(u64::MAX - 0x850),
        "bad program header 3: address or file offset overflows",
    );
    check(
        3,
        |p| p.p_memsz.set(0x7fff_ffff_0000),
        "bad program header 3: addresses outside the user range 0x10000..0x7ffffffff000",
    );
    check(
        0,
        |p| p.p_vaddr.set(0),
        "bad program header 0: addresses outside the user range 0x10000..0x7ffffffff000",
    );
    check(
        2,
        |p| p.p_memsz.set(0),
        "bad program header 2: zero-length PT_LOAD segment",
    );
    check(
        2,
        |p| {
            p.p_vaddr.set(0x47_f000);
            p.p_offset.set(0x7_f000);
        },
        "bad program header 2: PT_LOAD overlaps the one of program header 1",
    );
    check(
        3,
        |p| {
            p.p_vaddr.set(0x3f_07b0);
        },
        "bad program header 3: PT_LOAD segments not in ascending address order",
    );
    check(
        5,
        |p| p.p_filesz.set(0x60),
        "bad program header 5: p_filesz is larger than p_memsz",
    );
    check(
        5,
        |p| p.p_align.set(24),
        "bad program header 5: alignment is not a power of two",
    );
    check(
        5,
        |p| p.p_vaddr.set(u64::MAX),
        "bad program header 5: address or file offset overflows",
    );
    check(
        5,
        |p| p.p_vaddr.set(0x90_0000),
        "bad program header 5: PT_TLS image is not inside a PT_LOAD segment's file bytes",
    );
    let f = Fake::static_exec().with(|f| {
        f.phdrs[5].p_filesz.set(0x5ab1);
        f.phdrs[5].p_memsz.set(0x6000);
    });
    assert_eq!(
        f.err(),
        "bad program header 5: PT_TLS image is not inside a PT_LOAD segment's file bytes"
    );
    let f = Fake::static_exec().with(|f| f.phdrs[4] = phdr(PT_TLS, R, 0, 0x40_0000, 0, 0));
    assert_eq!(f.err(), "bad program header 5: a second PT_TLS");
    // A segment's file bytes past the end of the file.
    let f = Fake::static_exec().with(|f| f.file_len = 0xa_c000);
    assert_eq!(
        f.err(),
        "truncated: the headers and segments need 705120 bytes, the file has 704512"
    );
    // ... but a pure .bss segment reads nothing, wherever its offset points.
    let f = Fake::static_exec().with(|f| {
        f.phdrs[3].p_filesz.set(0);
        f.phdrs[3].p_offset.set(0xff_f7b0);
        f.phdrs[5].p_filesz.set(0);
    });
    f.parse().unwrap();
    // Byte-disjoint segments may share a page.
    let f = Fake::static_exec().with(|f| {
        f.phdrs[3].p_vaddr.set(0x4a_5850);
        f.phdrs[3].p_offset.set(0xa_6850);
        f.phdrs[5].p_vaddr.set(0x4a_5850);
    });
    let img = f.parse().unwrap();
    assert_eq!(
        img.segments()[2].map_end(),
        img.segments()[3].map_start() + PAGE_SIZE
    );
}

#[test]
fn entry_must_be_executable() {
    let f = Fake::static_exec().with(|f| f.ehdr.e_entry.set(0x40_0100));
    assert_eq!(
        f.err(),
        "entry point 0x400100 is outside every executable segment"
    );
    let f = Fake::static_exec().with(|f| f.ehdr.e_entry.set(0x47_f5a1));
    f.parse().unwrap_err(); // one past the end
    let f = Fake::static_exec().with(|f| f.ehdr.e_entry.set(0x47_f5a0));
    f.parse().unwrap(); // the last byte
}

#[test]
fn read_image_reads_little() {
    let f = Fake::dynamic();
    let mut file = f.headers();
    file.resize(usize::try_from(f.file_len).unwrap(), 0);
    let mut reads = Vec::new();
    let err = read_image(f.file_len, |off, buf: &mut [u8]| {
        reads.push((off, buf.len()));
        let start = usize::try_from(off).unwrap();
        buf.copy_from_slice(&file[start..start + buf.len()]);
        Ok::<(), ()>(())
    });
    assert!(matches!(err, Err(ReadError::Elf(ElfError::Dynamic(_)))));
    assert_eq!(reads, [(0, FIRST_READ)]);

    // Headers far into the file take more rounds; each read is inside the file.
    let f = Fake::static_exec().with(|f| f.ehdr.e_phoff.set(0x2000));
    let f = f
        .with(|f| f.phdrs[0].p_filesz.set(0x3000))
        .with(|f| f.phdrs[0].p_memsz.set(0x3000));
    let f = f.with(|f| {
        f.ehdr.e_entry.set(0x40_3650);
        f.phdrs[1].p_vaddr.set(0x40_3000);
        f.phdrs[1].p_offset.set(0x3000);
        f.phdrs[1].p_filesz.set(0x7_0000);
        f.phdrs[1].p_memsz.set(0x7_0000);
    });
    let file = f.headers();
    let file_len = f.file_len;
    let mut reads = Vec::new();
    let img = read_image(file_len, |off, buf: &mut [u8]| {
        reads.push((off, buf.len()));
        let start = usize::try_from(off).unwrap();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = file.get(start + i).copied().unwrap_or(0);
        }
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(reads, [(0, FIRST_READ), (4096, 0x2000 + 8 * 56 - 4096)]);
    assert_eq!(img.phdr(), 0x40_2000);

    // A short file is read whole, once.
    let mut reads = 0;
    let err = read_image(10, |_, buf: &mut [u8]| {
        reads += 1;
        assert_eq!(buf.len(), 10);
        buf.copy_from_slice(b"\x7fELF\x02\x01\x01\0\0\0");
        Ok::<(), ()>(())
    });
    assert_eq!(
        err,
        Err(ReadError::Elf(ElfError::Truncated {
            need: 64,
            file_len: 10
        }))
    );
    assert_eq!(reads, 1);
    // Read errors are passed on.
    let err = read_image(100, |_, _| Err("disk on fire"));
    assert_eq!(
        err.unwrap_err().to_string(),
        "cannot read the program file: disk on fire"
    );
}

/// Reads a host file through [`read_image`].
fn read_host_file(path: &std::path::Path) -> Result<ElfImage, ReadError<std::io::Error>> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path).map_err(ReadError::Read)?;
    let len = file.metadata().map_err(ReadError::Read)?.len();
    read_image(len, |off, buf| file.read_exact_at(buf, off))
}

#[test]
fn host_dynamic_binary_is_refused() {
    let path = std::path::Path::new("/bin/ls");
    if !path.exists() {
        println!("skipped: {} does not exist on this machine", path.display());
        return;
    }
    let err = read_host_file(path).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dynamically linked (needs /lib64/ld-linux-x86-64.so.2): build it with -static"
    );
}

/// Builds a tiny C program with the host's `gcc` and `flags`, or says why it could not.
fn build_with_gcc(name: &str, flags: &[&str]) -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("lego-linux-elf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let src = dir.join("hello.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n__thread int t = 7;\nint main(void) { printf(\"%d\\n\", t); return 0; }\n",
    )
    .ok()?;
    let out = dir.join(name);
    let status = std::process::Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output();
    match status {
        Ok(o) if o.status.success() => Some(out),
        Ok(o) => {
            println!(
                "skipped: gcc {flags:?} failed: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            );
            None
        }
        Err(e) => {
            println!("skipped: no gcc on this machine ({e})");
            None
        }
    }
}

/// The ELF header's entry point, read independently of the parser.
fn raw_entry(path: &std::path::Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    u64::from_le_bytes(bytes[24..32].try_into().unwrap())
}

#[test]
fn host_compiler_binaries() {
    if let Some(path) = build_with_gcc("static", &["-static", "-O1"]) {
        let img = read_host_file(&path).unwrap();
        assert_eq!(img.kind(), ElfKind::Exec);
        assert_eq!(img.entry(), raw_entry(&path));
        assert!(img.segments().len() >= 2);
        assert!(img.tls().is_some_and(|t| t.filesz >= 4));
        assert!(!img.exec_stack());
        assert!(img.brk() > img.entry());
        check_invariants(&img, std::fs::metadata(&path).unwrap().len());
    }
    if let Some(path) = build_with_gcc("static-pie", &["-static-pie", "-fPIE", "-O1"]) {
        let img = read_host_file(&path).unwrap();
        assert_eq!(img.kind(), ElfKind::StaticPie);
        assert_eq!(img.entry(), raw_entry(&path));
        let placed = img.place(DEFAULT_PIE_BASE).unwrap();
        assert_eq!(placed.entry(), DEFAULT_PIE_BASE + raw_entry(&path));
        check_invariants(&placed, std::fs::metadata(&path).unwrap().len());
    }
    if let Some(path) = build_with_gcc("dynamic", &["-O1"]) {
        let err = read_host_file(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dynamically linked (needs /lib64/ld-linux-x86-64.so.2): build it with -static"
        );
    }
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("lego-linux-elf-{}", std::process::id())),
    );
}

/// What every accepted image promises.
fn check_invariants(img: &ElfImage, file_len: u64) {
    let segs = img.segments();
    assert!(!segs.is_empty() && segs.len() <= MAX_LOAD_SEGMENTS);
    let low = if img.kind() == ElfKind::Exec || img.bias() != 0 {
        MIN_ADDR
    } else {
        0
    };
    for s in segs {
        assert!(s.memsz > 0 && s.filesz <= s.memsz);
        assert!(s.vaddr >= low && s.end() <= USER_END, "{s:?}");
        assert_eq!(s.vaddr % PAGE_SIZE, s.offset % PAGE_SIZE);
        assert!(s.filesz == 0 || s.offset + s.filesz <= file_len);
        assert!(s.map_end() <= img.brk());
    }
    for w in segs.windows(2) {
        assert!(w[0].end() <= w[1].vaddr);
    }
    assert!(
        segs.iter()
            .any(|s| s.prot.exec && (s.vaddr..s.end()).contains(&img.entry()))
    );
    let table = u64::from(img.phnum()) * 56;
    assert!(
        segs.iter()
            .any(|s| img.phdr() >= s.vaddr && img.phdr() + table <= s.file_end())
    );
    assert_eq!(img.brk() % PAGE_SIZE, 0);
    assert!(img.brk() <= USER_END);
    assert!(img.max_align().is_power_of_two() && img.max_align() >= PAGE_SIZE);
    assert_eq!(img.bias() % img.max_align(), 0);
    if let Some(t) = img.tls().filter(|t| t.filesz > 0) {
        assert!(
            segs.iter()
                .any(|s| t.vaddr >= s.vaddr && t.vaddr + t.filesz <= s.file_end())
        );
    }
}

/// Applies `muts` (offset, byte) to `bytes`.
fn mutate(mut bytes: Vec<u8>, muts: &[(usize, u8)]) -> Vec<u8> {
    for &(at, b) in muts {
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = b;
        }
    }
    bytes
}

fn fake(which: u8) -> Fake {
    match which % 3 {
        0 => Fake::static_exec(),
        1 => Fake::static_pie(),
        _ => Fake::dynamic(),
    }
}

/// Values that sit on the boundaries the checks care about.
fn interesting_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0..0x2_0000u64,
        Just(USER_END),
        Just(USER_END - 1),
        Just(MIN_ADDR),
        Just(u64::MAX),
        (0..0x1000u64).prop_map(|d| u64::MAX - d),
        0x40_0000..0x4c_0000u64,
    ]
}

/// Parses and, on success, checks the promises; never panics (the property).
fn parse_and_check(headers: &[u8], file_len: u64) {
    let _ = header_len(headers);
    if let Ok(img) = parse(headers, file_len) {
        check_invariants(&img, file_len);
        if let Ok(placed) = img.place(DEFAULT_PIE_BASE) {
            check_invariants(&placed, file_len);
        }
        let _ = img.place(file_len);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), file_len in any::<u64>()) {
        parse_and_check(&bytes, file_len);
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.extend_from_slice(&bytes);
        if elf.len() > 19 {
            elf[18] = 62;
            elf[19] = 0;
        }
        parse_and_check(&elf, file_len);
    }

    #[test]
    fn mutated_headers_never_panic(
        which in any::<u8>(),
        muts in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        cut in 0usize..900,
        len_delta in -0x2_0000i64..0x2_0000,
    ) {
        let f = fake(which);
        let bytes = mutate(f.headers(), &muts);
        let file_len = f.file_len.saturating_add_signed(len_delta);
        parse_and_check(&bytes, file_len);
        parse_and_check(&bytes[..cut.min(bytes.len())], file_len);
    }

    #[test]
    fn mutated_fields_never_panic(
        which in any::<u8>(),
        fields in prop::collection::vec((0usize..16, 0usize..8, interesting_u64()), 1..6),
        entry in interesting_u64(),
        set_entry in any::<bool>(),
    ) {
        let mut f = fake(which);
        for (i, field, v) in fields {
            let n = f.phdrs.len();
            let p = &mut f.phdrs[i % n];
            match field {
                0 => p.p_type.set(u32::try_from(v % 8).unwrap()),
                1 => p.p_flags.set(u32::try_from(v & 7).unwrap()),
                2 => p.p_offset.set(v),
                3 => p.p_vaddr.set(v),
                4 => p.p_filesz.set(v),
                5 => p.p_memsz.set(v),
                6 => p.p_align.set(v),
                _ => f.ehdr.e_phoff.set(v % 0x2_0000),
            }
        }
        if set_entry {
            f.ehdr.e_entry.set(entry);
        }
        // Keep the test's own buffer small; the parser is fed whatever that gives.
        if f.ehdr.e_phoff.get() < 0x1_0000 {
            parse_and_check(&f.headers(), f.file_len);
        }
    }

    /// Random valid layouts are accepted and described exactly.
    #[test]
    fn valid_layouts_are_described(
        segs in prop::collection::vec((0u64..4, 1u64..0x3000, 0u64..0x3000, 0u32..8), 1..8),
        pie in any::<bool>(),
        exec_at in any::<prop::sample::Index>(),
    ) {
        let mut phdrs = Vec::new();
        let mut want = Vec::new();
        let mut vaddr = if pie { 0 } else { 0x40_0000 };
        let mut offset = 0u64;
        let exec = exec_at.index(segs.len());
        for (i, &(gap_pages, memsz, filesz, flags)) in segs.iter().enumerate() {
            vaddr += gap_pages * PAGE_SIZE + (memsz % 0x100);
            let filesz = filesz.min(memsz);
            let offset_here = offset + vaddr % PAGE_SIZE;
            // The first segment maps the headers.
            let (vaddr_here, off_here, memsz, filesz) = if i == 0 {
                (vaddr & !(PAGE_SIZE - 1), 0, memsz + 0x400, filesz + 0x400)
            } else {
                (vaddr, offset_here, memsz, filesz)
            };
            let flags = if i == exec { flags | PF_X } else { flags };
            phdrs.push(phdr(PT_LOAD, flags, off_here, vaddr_here, filesz, memsz));
            want.push(Segment {
                vaddr: vaddr_here,
                memsz,
                offset: off_here,
                filesz,
                prot: Prot::from_flags(flags),
                align: 0x1000,
            });
            vaddr = vaddr_here + memsz;
            offset = (off_here + filesz + PAGE_SIZE) & !(PAGE_SIZE - 1);
        }
        let entry = want[exec].vaddr + want[exec].memsz / 2;
        let file_len = offset + 17;
        let f = Fake::new(if pie { ET_DYN } else { ET_EXEC }, entry, phdrs, file_len);
        let img = f.parse().unwrap();
        prop_assert_eq!(img.segments(), &want[..]);
        prop_assert_eq!(img.entry(), entry);
        prop_assert_eq!(img.phdr(), want[0].vaddr + 64);
        prop_assert_eq!(img.brk(), want.last().unwrap().map_end());
        check_invariants(&img, file_len);
        let headers = f.headers();
        prop_assert_eq!(header_len(&headers), Ok(64 + 56 * want.len()));
        prop_assert_eq!(header_len(&headers[..64]), Ok(64 + 56 * want.len()));
    }
}
