//! Why an ELF file is refused, one line each: `lego run` prints these to the user as they are,
//! so each says what is wrong and, where there is one, the fix.

use core::fmt;

use super::{MAX_HEADERS_LEN, MAX_LOAD_SEGMENTS, MAX_PHNUM, MIN_ADDR, USER_END};
use crate::errno::{EINVAL, ENOEXEC, ENOMEM, Errno};

/// An `e_machine` value, displayed by name ("aarch64", "i386") where it is a known one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine(pub u16);

impl Machine {
    /// The usual name of the architecture (`uname -m` style), if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "no machine",
            2 => "sparc",
            3 => "i386",
            4 => "m68k",
            8 => "mips",
            15 => "parisc",
            20 => "ppc",
            21 => "ppc64",
            22 => "s390",
            40 => "arm",
            42 => "sh",
            43 => "sparc64",
            50 => "ia64",
            62 => "x86_64",
            94 => "xtensa",
            183 => "aarch64",
            243 => "riscv",
            247 => "bpf",
            258 => "loongarch",
            0x9026 => "alpha",
            _ => return None,
        })
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "machine {:#x}", self.0),
        }
    }
}

/// What a non-executable ELF file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `ET_REL`: an object file, not linked yet.
    Relocatable,
    /// `ET_CORE`: a core dump.
    Core,
    /// `ET_DYN` without an entry point: a shared library.
    SharedLibrary,
    /// Any other `e_type`.
    Other(u16),
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileKind::Relocatable => f.write_str("a relocatable object file (link it first)"),
            FileKind::Core => f.write_str("a core dump"),
            FileKind::SharedLibrary => f.write_str("a shared library (no entry point)"),
            FileKind::Other(t) => write!(f, "ELF type {t:#x}"),
        }
    }
}

/// Longest interpreter path kept for the message; longer ones are shown cut, with "...".
pub const MAX_INTERP_SHOWN: usize = 112;

/// The program interpreter a dynamically linked program asks for (`PT_INTERP`), as far as it
/// could be read: at most [`MAX_INTERP_SHOWN`] bytes, displayed with non-printable bytes
/// escaped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interp {
    bytes: [u8; MAX_INTERP_SHOWN],
    len: u8,
    cut: bool,
}

impl Interp {
    /// No readable path (the `PT_INTERP` bytes are not within the headers the caller read).
    pub(crate) const UNKNOWN: Interp = Interp {
        bytes: [0; MAX_INTERP_SHOWN],
        len: 0,
        cut: false,
    };

    /// The path from the segment's bytes: up to the first NUL, at most [`MAX_INTERP_SHOWN`]
    /// bytes; `more` says whether the segment goes on past `raw`.
    pub(crate) fn new(raw: &[u8], more: bool) -> Interp {
        let end = raw.iter().position(|&b| b == 0);
        let path = &raw[..end.unwrap_or(raw.len())];
        let kept = path.len().min(MAX_INTERP_SHOWN - 1);
        let mut bytes = [0; MAX_INTERP_SHOWN];
        bytes[..kept].copy_from_slice(&path[..kept]);
        Interp {
            bytes,
            // `kept` < MAX_INTERP_SHOWN < 256, so it fits.
            len: u8::try_from(kept).unwrap_or(u8::MAX),
            cut: kept < path.len() || (end.is_none() && more),
        }
    }

    /// The path bytes read (empty if unknown).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Display for Interp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.as_bytes() {
            if b.is_ascii_graphic() || b == b' ' {
                write!(f, "{}", char::from(b))?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        if self.cut {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Interp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interp({self})")
    }
}

/// What is wrong with one program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhdrProblem {
    /// `p_filesz > p_memsz`.
    FileSizeOverMemSize,
    /// `p_offset` and `p_vaddr` are not congruent modulo the page size, so the segment cannot be
    /// mapped from the file.
    Misaligned,
    /// `p_vaddr + p_memsz` or `p_offset + p_filesz` overflows.
    Overflow,
    /// The segment reaches outside [`MIN_ADDR`]..[`USER_END`].
    OutsideUserRange,
    /// A `PT_LOAD` with `p_memsz == 0`.
    Empty,
    /// A `PT_LOAD` overlaps the one of program header `other`.
    Overlap {
        /// The index of the other program header.
        other: u16,
    },
    /// A `PT_LOAD` starts below the previous one (the ELF specification requires ascending
    /// `p_vaddr`).
    Unsorted,
    /// A second `PT_TLS`.
    DuplicateTls,
    /// An alignment that is not a power of two.
    BadAlign,
    /// The `PT_TLS` initialization image is not inside a `PT_LOAD` segment's file bytes.
    TlsNotLoaded,
}

impl fmt::Display for PhdrProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhdrProblem::FileSizeOverMemSize => f.write_str("p_filesz is larger than p_memsz"),
            PhdrProblem::Misaligned => {
                f.write_str("p_offset and p_vaddr differ modulo the page size")
            }
            PhdrProblem::Overflow => f.write_str("address or file offset overflows"),
            PhdrProblem::OutsideUserRange => {
                write!(
                    f,
                    "addresses outside the user range {MIN_ADDR:#x}..{USER_END:#x}"
                )
            }
            PhdrProblem::Empty => f.write_str("zero-length PT_LOAD segment"),
            PhdrProblem::Overlap { other } => {
                write!(f, "PT_LOAD overlaps the one of program header {other}")
            }
            PhdrProblem::Unsorted => f.write_str("PT_LOAD segments not in ascending address order"),
            PhdrProblem::DuplicateTls => f.write_str("a second PT_TLS"),
            PhdrProblem::BadAlign => f.write_str("alignment is not a power of two"),
            PhdrProblem::TlsNotLoaded => {
                f.write_str("PT_TLS image is not inside a PT_LOAD segment's file bytes")
            }
        }
    }
}

/// Why an ELF file cannot run here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The file does not start with `\x7fELF` (or is shorter than that).
    NotElf,
    /// The headers or a segment's file bytes reach past the end of the file.
    Truncated {
        /// Bytes of file the headers or segments need.
        need: u64,
        /// The file's length.
        file_len: u64,
    },
    /// The caller passed fewer header bytes than [`header_len`](super::header_len) asked for (a
    /// bug in the caller, not in the file).
    Incomplete {
        /// Bytes needed from offset 0.
        need: usize,
        /// Bytes given.
        have: usize,
    },
    /// A 32-bit ELF file.
    Not64Bit(Machine),
    /// A big-endian ELF file.
    BigEndian(Machine),
    /// `e_ident` has an invalid class or data encoding.
    BadIdent {
        /// `e_ident[EI_CLASS]`.
        class: u8,
        /// `e_ident[EI_DATA]`.
        data: u8,
    },
    /// Built for another architecture.
    WrongMachine(Machine),
    /// Not an executable file.
    NotExecutable(FileKind),
    /// Dynamically linked: it needs a program interpreter (the dynamic linker), which LegoOS
    /// does not provide.
    Dynamic(Interp),
    /// `e_phentsize` is not 56.
    BadPhentsize(u16),
    /// More than [`MAX_PHNUM`] program headers.
    TooManyProgramHeaders(u16),
    /// The program header table (or `PT_INTERP` path) is not within the first
    /// [`MAX_HEADERS_LEN`] bytes of the file.
    HeadersTooFar {
        /// Where the table ends.
        end: u64,
    },
    /// A program header is invalid.
    BadProgramHeader {
        /// Its index.
        index: u16,
        /// What is wrong.
        problem: PhdrProblem,
    },
    /// More than [`MAX_LOAD_SEGMENTS`] `PT_LOAD` segments.
    TooManySegments(usize),
    /// No `PT_LOAD` segment.
    NoLoadSegment,
    /// The program headers are not inside any loaded segment, so `AT_PHDR` (which the C
    /// library's startup reads to find `PT_TLS`) would point at unmapped memory.
    PhdrsNotLoaded,
    /// The entry point is not inside an executable `PT_LOAD` segment.
    EntryNotExecutable(u64),
    /// A static PIE does not fit in the user range at the requested base.
    NoRoom {
        /// The requested base.
        base: u64,
        /// Bytes the program spans.
        span: u64,
    },
}

impl ElfError {
    /// The errno `execve` returns for this on Linux: `ENOEXEC` for format problems, `ENOMEM` when
    /// a static PIE does not fit, `EINVAL` for a caller's short header read.
    pub fn errno(&self) -> Errno {
        match self {
            ElfError::NoRoom { .. } => ENOMEM,
            ElfError::Incomplete { .. } => EINVAL,
            _ => ENOEXEC,
        }
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf => f.write_str("not an ELF file (bad magic)"),
            ElfError::Truncated { need, file_len } => write!(
                f,
                "truncated: the headers and segments need {need} bytes, the file has {file_len}"
            ),
            ElfError::Incomplete { need, have } => write!(
                f,
                "incomplete headers: {need} bytes from the start of the file needed, {have} given"
            ),
            ElfError::Not64Bit(m) => {
                write!(
                    f,
                    "32-bit ELF for {m}: only 64-bit x86-64 programs run here"
                )
            }
            ElfError::BigEndian(m) => {
                write!(f, "big-endian ELF for {m}: only x86-64 programs run here")
            }
            ElfError::BadIdent { class, data } => write!(
                f,
                "corrupt ELF identification (class {class}, data encoding {data})"
            ),
            ElfError::WrongMachine(m) => write!(f, "not an x86-64 program: built for {m}"),
            ElfError::NotExecutable(k) => write!(f, "not an executable: {k}"),
            ElfError::Dynamic(interp) if interp.as_bytes().is_empty() => f.write_str(
                "dynamically linked (needs a program interpreter): build it with -static",
            ),
            ElfError::Dynamic(interp) => {
                write!(
                    f,
                    "dynamically linked (needs {interp}): build it with -static"
                )
            }
            ElfError::BadPhentsize(n) => {
                write!(f, "bad program headers: entry size {n}, expected 56")
            }
            ElfError::TooManyProgramHeaders(n) => {
                write!(f, "too many program headers: {n} (at most {MAX_PHNUM})")
            }
            ElfError::HeadersTooFar { end } => write!(
                f,
                "bad program headers: they end at byte {end}, past the first {MAX_HEADERS_LEN} \
                 bytes of the file"
            ),
            ElfError::BadProgramHeader { index, problem } => {
                write!(f, "bad program header {index}: {problem}")
            }
            ElfError::TooManySegments(n) => {
                write!(
                    f,
                    "too many PT_LOAD segments: {n} (at most {MAX_LOAD_SEGMENTS})"
                )
            }
            ElfError::NoLoadSegment => f.write_str("no PT_LOAD segment: nothing to load"),
            ElfError::PhdrsNotLoaded => {
                f.write_str("bad program headers: they are not inside any PT_LOAD segment")
            }
            ElfError::EntryNotExecutable(e) => {
                write!(f, "entry point {e:#x} is outside every executable segment")
            }
            ElfError::NoRoom { base, span } => write!(
                f,
                "a static PIE spanning {span:#x} bytes does not fit in the user range at {base:#x}"
            ),
        }
    }
}
