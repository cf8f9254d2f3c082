//! The on-disk ELF64 header and program header, and the constants this crate reads.
//!
//! Why hand-written `zerocopy` layouts rather than the `object` or `goblin` crates: we only
//! read two fixed-layout records (the 64-byte file header and 56-byte program headers), from a
//! prefix of the file, and must refuse anything odd with a precise reason. Both crates are
//! built around a whole-file view (`object`'s `ReadRef`, `goblin`'s `Elf::parse`), parse far more
//! than we use (sections, symbols, notes), and report their own error strings; the layouts below
//! are forty lines, cannot misread (explicit little-endian fields, no alignment needed) and add
//! no dependency. All semantic checks live in `elf.rs` either way.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `\x7fELF`.
pub const ELFMAG: [u8; 4] = *b"\x7fELF";
/// Index of the class byte in `e_ident`.
pub const EI_CLASS: usize = 4;
/// Index of the data-encoding byte in `e_ident`.
pub const EI_DATA: usize = 5;
/// 32-bit objects.
pub const ELFCLASS32: u8 = 1;
/// 64-bit objects.
pub const ELFCLASS64: u8 = 2;
/// Little-endian.
pub const ELFDATA2LSB: u8 = 1;
/// Big-endian.
pub const ELFDATA2MSB: u8 = 2;

/// Relocatable file (`.o`).
pub const ET_REL: u16 = 1;
/// Executable linked at fixed addresses.
pub const ET_EXEC: u16 = 2;
/// Shared object, or position-independent executable.
pub const ET_DYN: u16 = 3;
/// Core dump.
pub const ET_CORE: u16 = 4;

/// AMD x86-64.
pub const EM_X86_64: u16 = 62;

/// Loadable segment.
pub const PT_LOAD: u32 = 1;
/// Dynamic linking information.
#[cfg(test)]
pub const PT_DYNAMIC: u32 = 2;
/// Path of the program interpreter (the dynamic linker).
pub const PT_INTERP: u32 = 3;
/// Auxiliary information.
#[cfg(test)]
pub const PT_NOTE: u32 = 4;
/// The program header table itself, as mapped.
pub const PT_PHDR: u32 = 6;
/// Thread-local storage template.
pub const PT_TLS: u32 = 7;
/// Stack permissions (GNU extension).
pub const PT_GNU_STACK: u32 = 0x6474_e551;

/// Execute permission in `p_flags`.
pub const PF_X: u32 = 1;
/// Write permission in `p_flags`.
pub const PF_W: u32 = 2;
/// Read permission in `p_flags`.
pub const PF_R: u32 = 4;

/// `e_phnum` value meaning "the real count is in section header 0" (never used by executables).
#[cfg(test)]
pub const PN_XNUM: u16 = 0xffff;

/// `Elf64_Ehdr`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct Ehdr {
    pub e_ident: [u8; 16],
    pub e_type: U16,
    pub e_machine: U16,
    pub e_version: U32,
    pub e_entry: U64,
    pub e_phoff: U64,
    pub e_shoff: U64,
    pub e_flags: U32,
    pub e_ehsize: U16,
    pub e_phentsize: U16,
    pub e_phnum: U16,
    pub e_shentsize: U16,
    pub e_shnum: U16,
    pub e_shstrndx: U16,
}

/// `Elf64_Phdr`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct Phdr {
    pub p_type: U32,
    pub p_flags: U32,
    pub p_offset: U64,
    pub p_vaddr: U64,
    pub p_paddr: U64,
    pub p_filesz: U64,
    pub p_memsz: U64,
    pub p_align: U64,
}

/// Size of [`Ehdr`].
pub const EHDR_LEN: usize = 64;
/// Size of [`Phdr`].
pub const PHDR_LEN: usize = 56;

const _: () = assert!(size_of::<Ehdr>() == EHDR_LEN);
const _: () = assert!(size_of::<Phdr>() == PHDR_LEN);
