//! The initial process stack, as Linux builds it for a static ELF program (System V x86-64 ABI,
//! section 3.4.1, and `create_elf_tables` in Linux's `fs/binfmt_elf.c`).
//!
//! From the stack top down:
//!
//! ```text
//! top - 8        8 zero bytes (end marker)
//!                AT_EXECFN string, envp strings, argv strings (argv[0] lowest)
//!                  -- aligned down to 16 --
//!                "x86_64\0" (AT_PLATFORM)
//!                16 random bytes (AT_RANDOM)
//!                  -- padding so that rsp is 16-byte aligned --
//!                auxv pairs, ending with (AT_NULL, 0)
//!                0, envp pointers
//!                0, argv pointers
//! rsp ->         argc
//! ```
//!
//! The program starts with `rsp` pointing at `argc`, 16-byte aligned (the ABI's requirement at
//! process entry; `_start` does not push a return address). No vDSO, so no `AT_SYSINFO_EHDR`,
//! and no interpreter, so `AT_BASE` is 0. No randomization: the same inputs give the same bytes
//! (AT_RANDOM's bytes are an input).
//!
//! Arguments are bounded as Linux bounds them (`bprm_stack_limits`): each string, with its
//! NUL, at most `MAX_ARG_STRLEN` (32 pages); all strings (the exec file name included) plus one
//! pointer per argv and envp entry at most a quarter of the stack rlimit, capped at 6 MiB and at
//! least `ARG_MAX` (32 pages). Beyond that `execve` fails with `E2BIG`, and so does this.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::elf::{ElfImage, MIN_ADDR, USER_END};
use crate::errno::{E2BIG, EINVAL, ENOMEM, Errno};

/// Auxiliary vector types (`linux/auxvec.h`, `asm/auxvec.h`).
pub mod at {
    /// End of the vector.
    pub const AT_NULL: u64 = 0;
    /// Entry to be ignored.
    pub const AT_IGNORE: u64 = 1;
    /// File descriptor of the program (not used by ELF loading).
    pub const AT_EXECFD: u64 = 2;
    /// Address of the program headers.
    pub const AT_PHDR: u64 = 3;
    /// Size of one program header.
    pub const AT_PHENT: u64 = 4;
    /// Number of program headers.
    pub const AT_PHNUM: u64 = 5;
    /// Page size.
    pub const AT_PAGESZ: u64 = 6;
    /// Base address of the interpreter (0: none).
    pub const AT_BASE: u64 = 7;
    /// Flags (0).
    pub const AT_FLAGS: u64 = 8;
    /// Entry point of the program.
    pub const AT_ENTRY: u64 = 9;
    /// Program is not ELF.
    pub const AT_NOTELF: u64 = 10;
    /// Real user id.
    pub const AT_UID: u64 = 11;
    /// Effective user id.
    pub const AT_EUID: u64 = 12;
    /// Real group id.
    pub const AT_GID: u64 = 13;
    /// Effective group id.
    pub const AT_EGID: u64 = 14;
    /// Address of the platform string ("x86_64").
    pub const AT_PLATFORM: u64 = 15;
    /// CPU capabilities (CPUID.1:EDX on x86).
    pub const AT_HWCAP: u64 = 16;
    /// Frequency of `times()` (100).
    pub const AT_CLKTCK: u64 = 17;
    /// Secure mode (setuid-like): the C library then ignores dangerous environment variables.
    pub const AT_SECURE: u64 = 23;
    /// Address of the real platform string.
    pub const AT_BASE_PLATFORM: u64 = 24;
    /// Address of 16 random bytes (stack protector and pointer guard seeds).
    pub const AT_RANDOM: u64 = 25;
    /// More CPU capabilities (x86: bit 0 ring-3 MWAIT, bit 1 FSGSBASE).
    pub const AT_HWCAP2: u64 = 26;
    /// rseq: supported feature size.
    pub const AT_RSEQ_FEATURE_SIZE: u64 = 27;
    /// rseq: required alignment.
    pub const AT_RSEQ_ALIGN: u64 = 28;
    /// Address of the file name the program was executed as.
    pub const AT_EXECFN: u64 = 31;
    /// Address of the vDSO (not given: there is none).
    pub const AT_SYSINFO_EHDR: u64 = 33;
    /// Minimal stack size for signal delivery.
    pub const AT_MINSIGSTKSZ: u64 = 51;
}

use at::*;

/// Linux's `_STK_LIM`: the default stack rlimit, 8 MiB.
pub const STK_LIM: u64 = 8 << 20;
/// Linux's `ARG_MAX` floor for arguments: 32 pages.
pub const ARG_MAX: u64 = 32 * 4096;
/// Linux's `MAX_ARG_STRLEN`: longest argument or environment string, NUL included (32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
/// The platform string (`AT_PLATFORM`), as Linux gives it on x86-64.
pub const PLATFORM: &[u8] = b"x86_64";
/// Legacy `MINSIGSTKSZ`; the default `AT_MINSIGSTKSZ` until the signal code says its frame size.
pub const DEFAULT_MINSIGSTKSZ: u64 = 2048;

/// Bounds on the arguments and environment (parameters, with Linux's defaults in
/// [`StackLimits::LINUX`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackLimits {
    /// The stack rlimit (`RLIMIT_STACK` soft limit); a quarter of it (capped at 6 MiB, at least
    /// [`ARG_MAX`]) is the room for strings and argv/envp pointers.
    pub rlimit_stack: u64,
    /// Longest string, NUL included.
    pub max_arg_strlen: usize,
}

impl StackLimits {
    /// Linux's defaults: 8 MiB stack rlimit, 128 KiB strings.
    pub const LINUX: StackLimits = StackLimits {
        rlimit_stack: STK_LIM,
        max_arg_strlen: MAX_ARG_STRLEN,
    };

    /// Bytes available to strings and argv/envp pointers (Linux's `bprm_stack_limits`).
    pub const fn arg_limit(&self) -> u64 {
        let cap = STK_LIM / 4 * 3;
        let quarter = self.rlimit_stack / 4;
        let limit = if quarter < cap { quarter } else { cap };
        if limit > ARG_MAX { limit } else { ARG_MAX }
    }
}

impl Default for StackLimits {
    fn default() -> StackLimits {
        StackLimits::LINUX
    }
}

/// The values of the auxiliary vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuxInfo {
    /// `AT_PHDR`.
    pub phdr: u64,
    /// `AT_PHENT`.
    pub phent: u64,
    /// `AT_PHNUM`.
    pub phnum: u64,
    /// `AT_ENTRY`.
    pub entry: u64,
    /// `AT_PAGESZ`.
    pub pagesz: u64,
    /// `AT_FLAGS`.
    pub flags: u64,
    /// `AT_UID`.
    pub uid: u32,
    /// `AT_EUID`.
    pub euid: u32,
    /// `AT_GID`.
    pub gid: u32,
    /// `AT_EGID`.
    pub egid: u32,
    /// `AT_SECURE`.
    pub secure: bool,
    /// The 16 bytes `AT_RANDOM` points at.
    pub random: [u8; 16],
    /// `AT_HWCAP` (CPUID.1:EDX on x86-64, as Linux gives it).
    pub hwcap: u64,
    /// `AT_HWCAP2`.
    pub hwcap2: u64,
    /// `AT_CLKTCK`.
    pub clktck: u64,
    /// `AT_MINSIGSTKSZ`: the size of the signal frame the kernel pushes.
    pub minsigstksz: u64,
}

impl AuxInfo {
    /// The vector for a placed image, with Linux's defaults for the rest (ids 0, no secure
    /// mode, no capabilities, 100 ticks a second, [`DEFAULT_MINSIGSTKSZ`]).
    pub fn for_image(image: &ElfImage, random: [u8; 16]) -> AuxInfo {
        AuxInfo {
            phdr: image.phdr(),
            phent: u64::from(image.phent()),
            phnum: u64::from(image.phnum()),
            entry: image.entry(),
            pagesz: 4096,
            flags: 0,
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
            secure: false,
            random,
            hwcap: 0,
            hwcap2: 0,
            clktck: 100,
            minsigstksz: DEFAULT_MINSIGSTKSZ,
        }
    }
}

/// What to put on the stack.
#[derive(Clone, Copy, Debug)]
pub struct StackSpec<'a> {
    /// One past the stack's highest byte; 16-byte aligned (normally the top of the stack vma).
    pub top: u64,
    /// The arguments (`argv[0]` first). Empty is treated as Linux does since 5.18: one empty
    /// string.
    pub argv: &'a [&'a [u8]],
    /// The environment (`NAME=value` strings).
    pub envp: &'a [&'a [u8]],
    /// The file name the program was executed as (`AT_EXECFN`).
    pub execfn: &'a [u8],
    /// The auxiliary vector's values.
    pub aux: &'a AuxInfo,
    /// Bounds on the strings.
    pub limits: StackLimits,
}

/// The stack image: copy `bytes` to `[base, top)` and start the program with `rsp`.
#[derive(Clone, PartialEq, Eq)]
pub struct InitialStack {
    /// The first address of `bytes`: `rsp` rounded down to a page, so the image is whole pages
    /// (the bytes below `rsp` are zeros).
    pub base: u64,
    /// The stack pointer at entry: points at `argc`, 16-byte aligned.
    pub rsp: u64,
    /// The bytes of `[base, top)`.
    pub bytes: Vec<u8>,
    /// The auxiliary vector as written, `AT_NULL` excluded.
    pub auxv: Vec<(u64, u64)>,
}

/// Shows the addresses and the length of the image, not its bytes.
impl fmt::Debug for InitialStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitialStack")
            .field("base", &format_args!("{:#x}", self.base))
            .field("rsp", &format_args!("{:#x}", self.rsp))
            .field("len", &self.bytes.len())
            .field("auxv", &self.auxv)
            .finish()
    }
}

/// Why the stack cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// The strings and pointers exceed the limit (`E2BIG`).
    TooBig {
        /// Bytes needed.
        need: u64,
        /// Bytes allowed ([`StackLimits::arg_limit`]).
        limit: u64,
    },
    /// One string is longer than `max_arg_strlen` with its NUL (`E2BIG`).
    StringTooLong {
        /// Its length, NUL included.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A string contains a NUL byte, which would cut it short (`EINVAL`).
    InteriorNul,
    /// `top` is not a 16-byte aligned address in the user range (`EINVAL`).
    BadTop(u64),
    /// The image would reach below [`MIN_ADDR`] (`ENOMEM`).
    NoRoom,
}

impl StackError {
    /// The errno `execve` would return.
    pub fn errno(&self) -> Errno {
        match self {
            StackError::TooBig { .. } | StackError::StringTooLong { .. } => E2BIG,
            StackError::InteriorNul | StackError::BadTop(_) => EINVAL,
            StackError::NoRoom => ENOMEM,
        }
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::TooBig { need, limit } => write!(
                f,
                "argument list too long: {need} bytes of arguments and environment, at most {limit}"
            ),
            StackError::StringTooLong { len, max } => write!(
                f,
                "argument list too long: a {len}-byte argument or environment string, at most {max}"
            ),
            StackError::InteriorNul => {
                f.write_str("an argument or environment string contains a NUL byte")
            }
            StackError::BadTop(top) => {
                write!(
                    f,
                    "stack top {top:#x} is not a 16-byte aligned user address"
                )
            }
            StackError::NoRoom => f.write_str("the initial stack does not fit below its top"),
        }
    }
}

/// Writes into the image, addressed by virtual address.
struct Image {
    base: u64,
    bytes: Vec<u8>,
}

impl Image {
    /// Copies `data` to address `at`; every caller stays inside `[base, top)` by construction,
    /// and an out-of-range write is dropped rather than panicking.
    fn put(&mut self, at: u64, data: &[u8]) {
        let Some(start) = at
            .checked_sub(self.base)
            .and_then(|o| usize::try_from(o).ok())
        else {
            return;
        };
        if let Some(dst) = start
            .checked_add(data.len())
            .and_then(|end| self.bytes.get_mut(start..end))
        {
            dst.copy_from_slice(data);
        }
    }

    fn put_u64(&mut self, at: u64, v: u64) {
        self.put(at, &v.to_le_bytes());
    }
}

/// Builds the initial stack.
pub fn build(spec: &StackSpec<'_>) -> Result<InitialStack, StackError> {
    const EMPTY: &[&[u8]] = &[b""];
    let argv = if spec.argv.is_empty() {
        EMPTY
    } else {
        spec.argv
    };
    let envp = spec.envp;
    let top = spec.top;
    if !top.is_multiple_of(16) || !(MIN_ADDR..=USER_END).contains(&top) {
        return Err(StackError::BadTop(top));
    }

    // Linux's checks, in its order: string lengths as copied, then the total.
    let limit = spec.limits.arg_limit();
    let mut strings: u64 = 0;
    for s in core::iter::once(&spec.execfn).chain(envp).chain(argv) {
        if s.contains(&0) {
            return Err(StackError::InteriorNul);
        }
        let len = s.len().saturating_add(1);
        if len > spec.limits.max_arg_strlen {
            return Err(StackError::StringTooLong {
                len,
                max: spec.limits.max_arg_strlen,
            });
        }
        strings = strings.saturating_add(len as u64);
    }
    let pointers = (argv.len() as u64)
        .saturating_add(envp.len() as u64)
        .saturating_mul(8);
    let need = strings.saturating_add(pointers);
    if need > limit {
        return Err(StackError::TooBig { need, limit });
    }

    let aux = spec.aux;
    // Addresses of the strings, laid out downwards from the end marker.
    let marker = top - 8;
    let execfn_at = marker
        .checked_sub(spec.execfn.len() as u64 + 1)
        .ok_or(StackError::NoRoom)?;
    let strings_at = marker.checked_sub(strings).ok_or(StackError::NoRoom)?;
    let platform_at = (strings_at & !15)
        .checked_sub(PLATFORM.len() as u64 + 1)
        .ok_or(StackError::NoRoom)?;
    let random_at = platform_at.checked_sub(16).ok_or(StackError::NoRoom)?;

    let mut auxv: Vec<(u64, u64)> = vec![
        (AT_MINSIGSTKSZ, aux.minsigstksz),
        (AT_HWCAP, aux.hwcap),
        (AT_PAGESZ, aux.pagesz),
        (AT_CLKTCK, aux.clktck),
        (AT_PHDR, aux.phdr),
        (AT_PHENT, aux.phent),
        (AT_PHNUM, aux.phnum),
        (AT_BASE, 0),
        (AT_FLAGS, aux.flags),
        (AT_ENTRY, aux.entry),
        (AT_UID, u64::from(aux.uid)),
        (AT_EUID, u64::from(aux.euid)),
        (AT_GID, u64::from(aux.gid)),
        (AT_EGID, u64::from(aux.egid)),
        (AT_SECURE, u64::from(aux.secure)),
        (AT_RANDOM, random_at),
        (AT_HWCAP2, aux.hwcap2),
        (AT_EXECFN, execfn_at),
        (AT_PLATFORM, platform_at),
    ];
    // argc, argv + NULL, envp + NULL, auxv + AT_NULL: all 8-byte words.
    let words = 1 + (argv.len() as u64 + 1) + (envp.len() as u64 + 1) + 2 * (auxv.len() as u64 + 1);
    let rsp = random_at.checked_sub(words * 8).ok_or(StackError::NoRoom)? & !15;
    let base = rsp & !(crate::elf::PAGE_SIZE - 1);
    if base < MIN_ADDR {
        return Err(StackError::NoRoom);
    }
    // At most 6 MiB of strings plus pointers and a page: fits in usize.
    let len = usize::try_from(top - base).map_err(|_| StackError::NoRoom)?;
    let mut image = Image {
        base,
        bytes: vec![0; len],
    };

    // Strings: argv lowest, then envp, then the exec file name, then the zero marker.
    let mut at = strings_at;
    let mut argv_ptrs = Vec::with_capacity(argv.len());
    let mut envp_ptrs = Vec::with_capacity(envp.len());
    for (list, ptrs) in [(argv, &mut argv_ptrs), (envp, &mut envp_ptrs)] {
        for s in list {
            ptrs.push(at);
            image.put(at, s);
            at += s.len() as u64 + 1;
        }
    }
    image.put(execfn_at, spec.execfn);
    image.put(platform_at, PLATFORM);
    image.put(random_at, &aux.random);

    // The vectors, upwards from rsp.
    let mut at = rsp;
    let mut push = |image: &mut Image, v: u64| {
        image.put_u64(at, v);
        at += 8;
    };
    push(&mut image, argv.len() as u64);
    for &p in argv_ptrs.iter().chain(&[0]).chain(&envp_ptrs).chain(&[0]) {
        push(&mut image, p);
    }
    for &(k, v) in auxv.iter().chain(&[(AT_NULL, 0)]) {
        push(&mut image, k);
        push(&mut image, v);
    }
    auxv.shrink_to_fit();
    Ok(InitialStack {
        base,
        rsp,
        bytes: image.bytes,
        auxv,
    })
}

#[cfg(test)]
mod tests;
