//! Checking a static x86-64 ELF executable and describing what to map.
//!
//! The home mComponent loads a program by reading its file through its buffer cache, piece by
//! piece, so the checks work from the first bytes of the file:
//!
//! 1. [`header_len`] says how many bytes from offset 0 hold the ELF header, the program headers
//!    and (for a dynamically linked file) the start of the interpreter path. Call it on what was
//!    read, read up to its answer, and repeat until it asks for no more (at most three rounds;
//!    the first [`FIRST_READ`] bytes nearly always hold everything). [`read_image`] does that
//!    loop over a reader closure.
//! 2. [`parse`] checks the header bytes against the file length and returns an [`ElfImage`]:
//!    the `PT_LOAD` segments to map, the entry point, the values the auxiliary vector needs
//!    (`AT_PHDR`, `AT_PHNUM`, `AT_ENTRY`), `PT_TLS`, the stack's permission and where `brk`
//!    starts, or an [`ElfError`] whose `Display` is a one-line reason for the user.
//!
//! Accepted: `ET_EXEC` and static PIE (`ET_DYN` with an entry point and no `PT_INTERP`). A static
//! PIE is linked at 0 and is placed with [`ElfImage::place`]; its startup code
//! (`_dl_relocate_static_pie` in glibc, `_start_c`'s `__dls2` in musl) applies its own dynamic
//! relocations, so the loader only maps it. Anything with `PT_INTERP` is refused as dynamically
//! linked, naming the interpreter it asks for.
//!
//! The checks are stricter than Linux's where Linux would start a program that cannot work: the
//! segments' file bytes must be inside the file (Linux maps them and the program dies of
//! `SIGBUS`), the program headers must be inside a loaded segment (the C library's startup reads
//! them through `AT_PHDR` to find `PT_TLS`), so must the `PT_TLS` initialization image (it is
//! copied from memory into each thread's block), and the entry point must be in an executable
//! segment. `PT_LOAD` segments must be sorted and must not overlap byte-wise; two segments may
//! share a page at their boundary (common with `-z noseparate-code`), and the loader must then
//! give that page both segments' bytes and the union of their permissions, as Linux's two
//! overlapping `mmap`s effectively do.
//!
//! A missing `PT_GNU_STACK` means a non-executable stack, as on x86-64 Linux since 5.8.

mod error;
pub(crate) mod raw;
#[cfg(test)]
mod tests;

pub use error::{ElfError, FileKind, Interp, MAX_INTERP_SHOWN, Machine, PhdrProblem};

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use raw::{
    EHDR_LEN, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, ELFMAG, EM_X86_64, ET_CORE, ET_DYN,
    ET_EXEC, ET_REL, Ehdr, PF_R, PF_W, PF_X, PHDR_LEN, PT_GNU_STACK, PT_INTERP, PT_LOAD, PT_PHDR,
    PT_TLS, Phdr,
};
use zerocopy::FromBytes;

/// The page size segments are mapped with.
pub const PAGE_SIZE: u64 = 4096;
/// The lowest address a segment may use: Linux's default `vm.mmap_min_addr`, which keeps the
/// pages around address 0 unmapped so that null pointer dereferences fault.
pub const MIN_ADDR: u64 = 0x1_0000;
/// The end of the user half with 4-level paging (Linux's `TASK_SIZE_MAX`: 2^47 minus a guard
/// page).
pub const USER_END: u64 = 0x7fff_ffff_f000;
/// Most program headers accepted (static executables have about ten; Linux's own bound is
/// 64 KiB of them).
pub const MAX_PHNUM: u16 = 128;
/// Most `PT_LOAD` segments accepted (static executables have two to five).
pub const MAX_LOAD_SEGMENTS: usize = 32;
/// The headers (ELF header, program headers, interpreter path) must lie within this many bytes
/// from the start of the file, which bounds what [`header_len`] can ask for.
pub const MAX_HEADERS_LEN: usize = 64 * 1024;
/// A good size for the first read: one page holds every header of a normal executable.
pub const FIRST_READ: usize = 4096;
/// Where Linux places a PIE (`ELF_ET_DYN_BASE` on x86-64: two thirds of the 47-bit space),
/// before randomization.
pub const DEFAULT_PIE_BASE: u64 = 0x5555_5555_4000;
/// Size of one program header (`AT_PHENT`).
pub const PHENT: u16 = PHDR_LEN as u16;

/// How the program is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: linked at fixed addresses, mapped where it says.
    Exec,
    /// Static PIE (`ET_DYN` without `PT_INTERP`): linked at 0, mapped at a load bias the loader
    /// picks ([`ElfImage::place`]); it relocates itself.
    StaticPie,
}

/// A segment's permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Prot {
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

impl Prot {
    /// From ELF `p_flags` (`PF_R`, `PF_W`, `PF_X`; other bits ignored).
    pub const fn from_flags(flags: u32) -> Prot {
        Prot {
            read: flags & PF_R != 0,
            write: flags & PF_W != 0,
            exec: flags & PF_X != 0,
        }
    }

    /// As `mmap`/`mprotect` bits (`PROT_READ` 1, `PROT_WRITE` 2, `PROT_EXEC` 4).
    pub const fn mmap_bits(self) -> u32 {
        (self.read as u32) | ((self.write as u32) << 1) | ((self.exec as u32) << 2)
    }

    /// Both segments' permissions (for a page two segments share).
    pub const fn union(self, other: Prot) -> Prot {
        Prot {
            read: self.read || other.read,
            write: self.write || other.write,
            exec: self.exec || other.exec,
        }
    }
}

/// `rwx`, with `-` for missing permissions, as in `/proc/PID/maps`.
impl fmt::Display for Prot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |on, ch| if on { ch } else { '-' };
        write!(
            f,
            "{}{}{}",
            c(self.read, 'r'),
            c(self.write, 'w'),
            c(self.exec, 'x')
        )
    }
}

/// A `PT_LOAD` segment: `filesz` bytes of the file at `offset` appear at `vaddr`, followed by
/// `memsz - filesz` zero bytes (`.bss`). Checked: `filesz <= memsz`, `memsz > 0`, no overflow,
/// inside the user range, `offset ≡ vaddr (mod PAGE_SIZE)`, file bytes inside the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First address.
    pub vaddr: u64,
    /// Bytes in memory.
    pub memsz: u64,
    /// Offset of the first byte in the file.
    pub offset: u64,
    /// Bytes from the file.
    pub filesz: u64,
    /// Permissions.
    pub prot: Prot,
    /// `p_align` (1 or 0 mean none).
    pub align: u64,
}

impl Segment {
    /// One past the last address.
    pub const fn end(&self) -> u64 {
        self.vaddr + self.memsz
    }

    /// One past the last address backed by the file: zeros from here to [`end`](Self::end).
    pub const fn file_end(&self) -> u64 {
        self.vaddr + self.filesz
    }

    /// The first page the segment touches.
    pub const fn map_start(&self) -> u64 {
        self.vaddr & !(PAGE_SIZE - 1)
    }

    /// One past the last page the segment touches.
    pub const fn map_end(&self) -> u64 {
        page_up(self.end())
    }

    /// The file offset of [`map_start`](Self::map_start)'s page.
    pub const fn map_offset(&self) -> u64 {
        self.offset & !(PAGE_SIZE - 1)
    }
}

/// The `PT_TLS` segment: the initial image of each thread's static TLS block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tls {
    /// Address of the initialization image (inside a `PT_LOAD`).
    pub vaddr: u64,
    /// Bytes of initialized data (`.tdata`).
    pub filesz: u64,
    /// Size of the block (`.tdata` + `.tbss`).
    pub memsz: u64,
    /// Alignment of the block (0 or a power of two).
    pub align: u64,
}

/// A checked executable: what to map and what the auxiliary vector says about it. Addresses
/// include the load bias ([`bias`](Self::bias), 0 until a static PIE is [`place`](Self::place)d).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    kind: ElfKind,
    entry: u64,
    segments: Vec<Segment>,
    tls: Option<Tls>,
    exec_stack: bool,
    phdr: u64,
    phnum: u16,
    max_align: u64,
    bias: u64,
}

impl ElfImage {
    /// How it is linked.
    pub fn kind(&self) -> ElfKind {
        self.kind
    }

    /// The entry point (`AT_ENTRY`; where `rip` starts).
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// The `PT_LOAD` segments, in ascending address order, not overlapping (but possibly
    /// sharing a page at their boundaries).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The thread-local storage template, if the program has one.
    pub fn tls(&self) -> Option<Tls> {
        self.tls
    }

    /// Whether `PT_GNU_STACK` asks for an executable stack.
    pub fn exec_stack(&self) -> bool {
        self.exec_stack
    }

    /// Address of the program headers in memory (`AT_PHDR`).
    pub fn phdr(&self) -> u64 {
        self.phdr
    }

    /// Size of a program header (`AT_PHENT`): always 56.
    pub fn phent(&self) -> u16 {
        PHENT
    }

    /// Number of program headers (`AT_PHNUM`).
    pub fn phnum(&self) -> u16 {
        self.phnum
    }

    /// Where the heap starts: the end of the highest segment, rounded up to a page.
    pub fn brk(&self) -> u64 {
        self.segments.last().map_or(0, Segment::map_end)
    }

    /// The pages the program spans: from the first segment's page to [`brk`](Self::brk).
    pub fn span(&self) -> Range<u64> {
        self.segments.first().map_or(0, Segment::map_start)..self.brk()
    }

    /// The largest power-of-two `p_align` of the `PT_LOAD` segments (at least [`PAGE_SIZE`]).
    pub fn max_align(&self) -> u64 {
        self.max_align
    }

    /// The load bias added to every link-time address (0 for `ET_EXEC`).
    pub fn bias(&self) -> u64 {
        self.bias
    }

    /// The image placed for running: an `ET_EXEC` as it is (`base` is ignored); a static PIE
    /// with its lowest page at the first multiple of [`max_align`](Self::max_align) at or
    /// above `base` ([`DEFAULT_PIE_BASE`] is what Linux uses). Placing an already placed image
    /// replaces its bias. Fails if the program would not fit between [`MIN_ADDR`] and
    /// [`USER_END`].
    pub fn place(&self, base: u64) -> Result<ElfImage, ElfError> {
        if self.kind == ElfKind::Exec {
            return Ok(self.clone());
        }
        let link = self.span();
        let (lo, hi) = (link.start - self.bias, link.end - self.bias);
        let no_room = ElfError::NoRoom {
            base,
            span: hi - lo,
        };
        let bias = align_up(base, self.max_align).ok_or(no_room)?;
        let start = bias.checked_add(lo).ok_or(no_room)?;
        let end = bias.checked_add(hi).ok_or(no_room)?;
        if start < MIN_ADDR || end > USER_END {
            return Err(no_room);
        }
        // Every address below is link-time + old bias, and link-time + new bias fits.
        let shift = |a: u64| a - self.bias + bias;
        Ok(ElfImage {
            entry: shift(self.entry),
            segments: self
                .segments
                .iter()
                .map(|s| Segment {
                    vaddr: shift(s.vaddr),
                    ..*s
                })
                .collect(),
            tls: self.tls.map(|t| Tls {
                vaddr: shift(t.vaddr),
                ..t
            }),
            phdr: shift(self.phdr),
            bias,
            ..self.clone()
        })
    }
}

/// `a` rounded up to a multiple of `align` (a power of two), if that does not overflow.
const fn align_up(a: u64, align: u64) -> Option<u64> {
    match a.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

/// `a` rounded up to a page; callers only pass addresses up to [`USER_END`], so it does not
/// overflow (saturates otherwise).
const fn page_up(a: u64) -> u64 {
    match align_up(a, PAGE_SIZE) {
        Some(v) => v,
        None => !(PAGE_SIZE - 1),
    }
}

/// Where the program header table is, once the ELF header passed its checks.
#[derive(Clone, Copy, Debug)]
struct Table {
    /// `e_phoff`.
    offset: usize,
    /// `e_phnum`.
    count: u16,
}

impl Table {
    /// One past the table's last byte (at most [`MAX_HEADERS_LEN`]).
    fn end(&self) -> usize {
        self.offset + usize::from(self.count) * PHDR_LEN
    }

    /// The program headers, with their indices, from bytes that hold the table.
    fn entries<'a>(&self, bytes: &'a [u8]) -> impl Iterator<Item = (u16, Phdr)> + 'a {
        let offset = self.offset;
        (0..self.count).filter_map(move |i| {
            let at = offset + usize::from(i) * PHDR_LEN;
            let (phdr, _) = Phdr::read_from_prefix(bytes.get(at..)?).ok()?;
            Some((i, phdr))
        })
    }
}

/// Checks the magic on as many of the first four bytes as there are.
fn check_magic(first: &[u8]) -> Result<(), ElfError> {
    let n = first.len().min(ELFMAG.len());
    if first[..n] == ELFMAG[..n] {
        Ok(())
    } else {
        Err(ElfError::NotElf)
    }
}

/// Checks the ELF header (identification, machine, type, program header table geometry).
fn check_ehdr(ehdr: &Ehdr) -> Result<Table, ElfError> {
    let (class, data) = (ehdr.e_ident[raw::EI_CLASS], ehdr.e_ident[raw::EI_DATA]);
    if (class, data) != (ELFCLASS64, ELFDATA2LSB) {
        // `e_machine` is at the same offset in 32-bit headers; name it in the file's byte order.
        let raw_machine = ehdr.e_machine.get();
        let machine = Machine(match data {
            ELFDATA2MSB => raw_machine.swap_bytes(),
            _ => raw_machine,
        });
        return Err(match (class, data) {
            (ELFCLASS32, ELFDATA2LSB | ELFDATA2MSB) => ElfError::Not64Bit(machine),
            (ELFCLASS64, ELFDATA2MSB) => ElfError::BigEndian(machine),
            _ => ElfError::BadIdent { class, data },
        });
    }
    let machine = ehdr.e_machine.get();
    if machine != EM_X86_64 {
        return Err(ElfError::WrongMachine(Machine(machine)));
    }
    match ehdr.e_type.get() {
        ET_EXEC | ET_DYN => {}
        ET_REL => return Err(ElfError::NotExecutable(FileKind::Relocatable)),
        ET_CORE => return Err(ElfError::NotExecutable(FileKind::Core)),
        other => return Err(ElfError::NotExecutable(FileKind::Other(other))),
    }
    let count = ehdr.e_phnum.get();
    if count == 0 {
        return Ok(Table {
            offset: EHDR_LEN,
            count,
        });
    }
    if count > MAX_PHNUM {
        return Err(ElfError::TooManyProgramHeaders(count));
    }
    let entsize = ehdr.e_phentsize.get();
    if usize::from(entsize) != PHDR_LEN {
        return Err(ElfError::BadPhentsize(entsize));
    }
    let offset = ehdr.e_phoff.get();
    let end = offset.saturating_add(u64::from(count) * PHDR_LEN as u64);
    match usize::try_from(end) {
        Ok(end) if end <= MAX_HEADERS_LEN => {}
        _ => return Err(ElfError::HeadersTooFar { end }),
    }
    // `offset <= end <= MAX_HEADERS_LEN`, so it fits.
    let offset = usize::try_from(offset).map_err(|_| ElfError::HeadersTooFar { end })?;
    Ok(Table { offset, count })
}

/// What the header bytes must cover.
#[derive(Clone, Debug)]
struct Needs {
    /// The ELF header and the program header table.
    table_end: usize,
    /// The part of the interpreter path that is read for the message (within
    /// [`MAX_HEADERS_LEN`]), if there is a `PT_INTERP`.
    interp: Option<Range<usize>>,
}

impl Needs {
    fn total(&self) -> usize {
        self.interp
            .as_ref()
            .map_or(self.table_end, |r| r.end.max(self.table_end))
    }
}

/// The bytes needed, from what is known so far in `first`.
fn needs(first: &[u8]) -> Result<Needs, ElfError> {
    check_magic(first)?;
    let Ok((ehdr, _)) = Ehdr::read_from_prefix(first) else {
        return Ok(Needs {
            table_end: EHDR_LEN,
            interp: None,
        });
    };
    let table = check_ehdr(&ehdr)?;
    let table_end = table.end().max(EHDR_LEN);
    if first.len() < table_end {
        return Ok(Needs {
            table_end,
            interp: None,
        });
    }
    let interp = table
        .entries(first)
        .find(|(_, p)| p.p_type.get() == PT_INTERP)
        .and_then(|(_, p)| {
            let start = usize::try_from(p.p_offset.get()).ok()?;
            if start >= MAX_HEADERS_LEN {
                return None;
            }
            let len = usize::try_from(p.p_filesz.get()).unwrap_or(usize::MAX);
            let end = start + len.min(MAX_INTERP_SHOWN).min(MAX_HEADERS_LEN - start);
            Some(start..end)
        });
    Ok(Needs { table_end, interp })
}

/// How many bytes from the start of the file [`parse`] needs, judging from `first` (the bytes
/// read so far from offset 0): at least the ELF header, then the program header table, then
/// the start of the interpreter path of a dynamically linked file. Read up to the answer and
/// ask again until it is no more than what you have (or the whole file is read). Never more
/// than [`MAX_HEADERS_LEN`]. Fails early on files that can never pass (not ELF, wrong
/// class/machine/type, bad program header table geometry).
pub fn header_len(first: &[u8]) -> Result<usize, ElfError> {
    Ok(needs(first)?.total())
}

/// Checks a static x86-64 executable from its first bytes (`headers`: at least what
/// [`header_len`] asks for, or the whole file if shorter; bytes past `file_len` are ignored)
/// and its length, and describes it.
pub fn parse(headers: &[u8], file_len: u64) -> Result<ElfImage, ElfError> {
    let have = usize::try_from(file_len).map_or(headers.len(), |n| n.min(headers.len()));
    let headers = &headers[..have];
    if file_len < ELFMAG.len() as u64 {
        return Err(ElfError::NotElf);
    }
    let needs = needs(headers)?;
    if needs.table_end as u64 > file_len {
        return Err(ElfError::Truncated {
            need: needs.table_end as u64,
            file_len,
        });
    }
    let need = usize::try_from(file_len).map_or(needs.total(), |n| n.min(needs.total()));
    if headers.len() < need {
        return Err(ElfError::Incomplete {
            need,
            have: headers.len(),
        });
    }
    let (ehdr, _) = Ehdr::read_from_prefix(headers).map_err(|_| ElfError::Incomplete {
        need,
        have: headers.len(),
    })?;
    let table = check_ehdr(&ehdr)?;

    if let Some((_, p)) = table
        .entries(headers)
        .find(|(_, p)| p.p_type.get() == PT_INTERP)
    {
        let interp = match needs
            .interp
            .and_then(|r| headers.get(r.start..r.end.min(have)))
        {
            Some(bytes) => Interp::new(bytes, p.p_filesz.get() > bytes.len() as u64),
            None => Interp::UNKNOWN,
        };
        return Err(ElfError::Dynamic(interp));
    }

    let entry = ehdr.e_entry.get();
    let kind = match ehdr.e_type.get() {
        ET_EXEC => ElfKind::Exec,
        ET_DYN if entry == 0 => return Err(ElfError::NotExecutable(FileKind::SharedLibrary)),
        _ => ElfKind::StaticPie,
    };

    let loads = table
        .entries(headers)
        .filter(|(_, p)| p.p_type.get() == PT_LOAD)
        .count();
    if loads > MAX_LOAD_SEGMENTS {
        return Err(ElfError::TooManySegments(loads));
    }
    let mut segments: Vec<Segment> = Vec::with_capacity(loads);
    let mut last_load: Option<u16> = None;
    let mut tls = None;
    let mut exec_stack = false;
    let mut pt_phdr = None;
    let mut max_align = PAGE_SIZE;
    for (index, p) in table.entries(headers) {
        let bad = |problem| ElfError::BadProgramHeader { index, problem };
        match p.p_type.get() {
            PT_LOAD => {
                let seg = load_segment(&p, kind, file_len).map_err(|e| match e {
                    Bad::Problem(problem) => bad(problem),
                    Bad::Error(e) => e,
                })?;
                if let (Some(prev), Some(prev_index)) = (segments.last(), last_load) {
                    if seg.vaddr < prev.vaddr {
                        return Err(bad(PhdrProblem::Unsorted));
                    }
                    if seg.vaddr < prev.end() {
                        return Err(bad(PhdrProblem::Overlap { other: prev_index }));
                    }
                }
                if seg.align.is_power_of_two() {
                    max_align = max_align.max(seg.align);
                }
                segments.push(seg);
                last_load = Some(index);
            }
            PT_TLS => {
                if tls.is_some() {
                    return Err(bad(PhdrProblem::DuplicateTls));
                }
                tls = Some((index, tls_segment(&p).map_err(bad)?));
            }
            PT_GNU_STACK => exec_stack = p.p_flags.get() & PF_X != 0,
            PT_PHDR => pt_phdr = Some(p.p_vaddr.get()),
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ElfError::NoLoadSegment);
    }

    let table_len = u64::from(table.count) * PHDR_LEN as u64;
    let phdr = match pt_phdr {
        Some(vaddr) => segments
            .iter()
            .any(|s| {
                vaddr >= s.vaddr
                    && vaddr
                        .checked_add(table_len)
                        .is_some_and(|e| e <= s.file_end())
            })
            .then_some(vaddr),
        None => {
            let off = table.offset as u64;
            segments
                .iter()
                .find(|s| off >= s.offset && off + table_len <= s.offset + s.filesz)
                .map(|s| s.vaddr + (off - s.offset))
        }
    }
    .ok_or(ElfError::PhdrsNotLoaded)?;

    // The C library copies the TLS initialization image from memory, so it must be loaded.
    if let Some((index, t)) = tls {
        let inside = |s: &Segment| t.vaddr >= s.vaddr && t.vaddr + t.filesz <= s.file_end();
        if t.filesz > 0 && !segments.iter().any(inside) {
            return Err(ElfError::BadProgramHeader {
                index,
                problem: PhdrProblem::TlsNotLoaded,
            });
        }
    }
    let tls = tls.map(|(_, t)| t);

    if !segments
        .iter()
        .any(|s| s.prot.exec && entry >= s.vaddr && entry < s.end())
    {
        return Err(ElfError::EntryNotExecutable(entry));
    }

    Ok(ElfImage {
        kind,
        entry,
        segments,
        tls,
        exec_stack,
        phdr,
        phnum: table.count,
        max_align,
        bias: 0,
    })
}

/// A `PT_LOAD` refusal: a problem with the header itself, or a truncated file.
enum Bad {
    Problem(PhdrProblem),
    Error(ElfError),
}

impl From<PhdrProblem> for Bad {
    fn from(p: PhdrProblem) -> Bad {
        Bad::Problem(p)
    }
}

/// Checks one `PT_LOAD`.
fn load_segment(p: &Phdr, kind: ElfKind, file_len: u64) -> Result<Segment, Bad> {
    let (vaddr, memsz) = (p.p_vaddr.get(), p.p_memsz.get());
    let (offset, filesz) = (p.p_offset.get(), p.p_filesz.get());
    if memsz == 0 {
        return Err(PhdrProblem::Empty.into());
    }
    if filesz > memsz {
        return Err(PhdrProblem::FileSizeOverMemSize.into());
    }
    let end = vaddr.checked_add(memsz).ok_or(PhdrProblem::Overflow)?;
    let file_end = offset.checked_add(filesz).ok_or(PhdrProblem::Overflow)?;
    // A static PIE is linked at 0; its placement is checked by `ElfImage::place`.
    let low = if kind == ElfKind::Exec { MIN_ADDR } else { 0 };
    if vaddr < low || end > USER_END {
        return Err(PhdrProblem::OutsideUserRange.into());
    }
    if vaddr % PAGE_SIZE != offset % PAGE_SIZE {
        return Err(PhdrProblem::Misaligned.into());
    }
    // A segment with no file bytes (pure .bss) reads nothing, wherever its offset points.
    if filesz > 0 && file_end > file_len {
        return Err(Bad::Error(ElfError::Truncated {
            need: file_end,
            file_len,
        }));
    }
    Ok(Segment {
        vaddr,
        memsz,
        offset,
        filesz,
        prot: Prot::from_flags(p.p_flags.get()),
        align: p.p_align.get(),
    })
}

/// Checks the `PT_TLS` header.
fn tls_segment(p: &Phdr) -> Result<Tls, PhdrProblem> {
    let (vaddr, memsz, filesz, align) = (
        p.p_vaddr.get(),
        p.p_memsz.get(),
        p.p_filesz.get(),
        p.p_align.get(),
    );
    if filesz > memsz {
        return Err(PhdrProblem::FileSizeOverMemSize);
    }
    let end = vaddr.checked_add(memsz).ok_or(PhdrProblem::Overflow)?;
    if end > USER_END {
        return Err(PhdrProblem::OutsideUserRange);
    }
    if align > 1 && !align.is_power_of_two() {
        return Err(PhdrProblem::BadAlign);
    }
    Ok(Tls {
        vaddr,
        filesz,
        memsz,
        align,
    })
}

/// A failure of [`read_image`]: the reader's, or the file's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError<E> {
    /// Reading the file failed.
    Read(E),
    /// The file is refused.
    Elf(ElfError),
}

impl<E: fmt::Display> fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Read(e) => write!(f, "cannot read the program file: {e}"),
            ReadError::Elf(e) => e.fmt(f),
        }
    }
}

/// Reads the headers of a `file_len`-byte file with `read_at(offset, buf)` (which fills `buf`
/// with the file's bytes at `offset`; it is only asked for bytes inside the file) and
/// [`parse`]s them. Reads [`FIRST_READ`] bytes first, then at most two more ranges if
/// [`header_len`] asks for them; never more than [`MAX_HEADERS_LEN`] bytes in all.
pub fn read_image<E>(
    file_len: u64,
    mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
) -> Result<ElfImage, ReadError<E>> {
    let within_file = |n: usize| usize::try_from(file_len).map_or(n, |len| n.min(len));
    let mut buf = vec![0; within_file(FIRST_READ)];
    read_at(0, &mut buf).map_err(ReadError::Read)?;
    // Each round learns the next range: ELF header -> program headers -> interpreter path.
    for _ in 0..3 {
        let need = within_file(header_len(&buf).map_err(ReadError::Elf)?);
        if need <= buf.len() {
            break;
        }
        let old = buf.len();
        buf.resize(need, 0);
        read_at(old as u64, &mut buf[old..]).map_err(ReadError::Read)?;
    }
    parse(&buf, file_len).map_err(ReadError::Elf)
}
