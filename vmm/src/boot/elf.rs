//! Checking and loading a monitor image. The header is checked here first, so a wrong file gets
//! a precise error (not ELF, wrong class, wrong machine, segments outside the kernel window);
//! the segments are then loaded by linux-loader.

use std::io::Cursor;

use lego_abi::layout::{KERNEL_PHYS_BASE, KERNEL_VIRT_BASE, KERNEL_WINDOW};
use linux_loader::loader::KernelLoader;
use linux_loader::loader::elf::Elf;
use vm_memory::GuestMemoryMmap;

use crate::error::ImageProblem;

const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const EM_X86_64: u16 = 62;

/// One loadable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Physical load address.
    pub paddr: u64,
    /// Virtual address.
    pub vaddr: u64,
    /// Bytes in memory.
    pub memsz: u64,
    /// Bytes in the file.
    pub filesz: u64,
    /// Executable.
    pub exec: bool,
}

/// What the VMM needs to know about an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// Virtual entry point.
    pub entry: u64,
    /// Loadable segments.
    pub segments: Vec<Segment>,
    /// End of the highest segment (physical).
    pub phys_end: u64,
}

fn u16_at(b: &[u8], off: usize) -> Result<u16, ImageProblem> {
    b.get(off..off + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .ok_or(ImageProblem::Malformed("truncated header"))
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, ImageProblem> {
    b.get(off..off + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(ImageProblem::Malformed("truncated header"))
}

fn u64_at(b: &[u8], off: usize) -> Result<u64, ImageProblem> {
    b.get(off..off + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or(ImageProblem::Malformed("truncated header"))
}

fn machine_name(m: u16) -> &'static str {
    match m {
        3 => "i386",
        40 => "arm",
        62 => "x86-64",
        183 => "aarch64",
        243 => "riscv",
        _ => "unknown",
    }
}

/// Checks an image and describes it. Never panics, whatever the bytes.
pub fn inspect(b: &[u8]) -> Result<ImageInfo, ImageProblem> {
    if b.len() < 4 || &b[..4] != b"\x7fELF" {
        return Err(ImageProblem::NotElf);
    }
    if b.len() < 64 || b[4] != 2 || b[5] != 1 {
        return Err(ImageProblem::WrongClass);
    }
    let e_type = u16_at(b, 16)?;
    let machine = u16_at(b, 18)?;
    if machine != EM_X86_64 {
        return Err(ImageProblem::WrongArch(machine, machine_name(machine)));
    }
    if e_type != 2 {
        return Err(ImageProblem::NotExecutable(e_type));
    }
    let entry = u64_at(b, 24)?;
    let phoff = u64_at(b, 32)?;
    let phentsize = u16_at(b, 54)?;
    let phnum = u16_at(b, 56)?;
    if phentsize != 56 {
        return Err(ImageProblem::Malformed("program header size is not 56"));
    }
    let lo = KERNEL_PHYS_BASE;
    let hi = KERNEL_WINDOW;
    let mut segments = Vec::new();
    for i in 0..u64::from(phnum) {
        let off = phoff
            .checked_add(i * 56)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or(ImageProblem::Malformed("program header offset overflows"))?;
        if u32_at(b, off)? != PT_LOAD {
            continue;
        }
        let flags = u32_at(b, off + 4)?;
        let offset = u64_at(b, off + 8)?;
        let vaddr = u64_at(b, off + 16)?;
        let paddr = u64_at(b, off + 24)?;
        let filesz = u64_at(b, off + 32)?;
        let memsz = u64_at(b, off + 40)?;
        if memsz == 0 {
            continue;
        }
        let file_end = offset
            .checked_add(filesz)
            .ok_or(ImageProblem::Malformed("segment overflows"))?;
        if file_end > b.len() as u64 || filesz > memsz {
            return Err(ImageProblem::Malformed(
                "segment extends past the end of the file",
            ));
        }
        let end = paddr
            .checked_add(memsz)
            .ok_or(ImageProblem::Malformed("segment overflows"))?;
        if paddr < lo || end > hi || vaddr != KERNEL_VIRT_BASE.wrapping_add(paddr) {
            return Err(ImageProblem::OutOfWindow {
                start: paddr,
                end,
                lo,
                hi,
            });
        }
        segments.push(Segment {
            paddr,
            vaddr,
            memsz,
            filesz,
            exec: flags & PF_X != 0,
        });
    }
    if segments.is_empty() {
        return Err(ImageProblem::Malformed("no loadable segments"));
    }
    let in_exec = segments
        .iter()
        .any(|s| s.exec && entry >= s.vaddr && entry < s.vaddr + s.memsz);
    if !in_exec {
        return Err(ImageProblem::BadEntry(entry));
    }
    let phys_end = segments
        .iter()
        .map(|s| s.paddr + s.memsz)
        .max()
        .unwrap_or(lo);
    Ok(ImageInfo {
        entry,
        segments,
        phys_end,
    })
}

/// Loads the segments of an inspected image into guest memory at their physical addresses.
pub fn load(mem: &GuestMemoryMmap, bytes: &[u8]) -> Result<(), ImageProblem> {
    let mut cursor = Cursor::new(bytes);
    Elf::load(mem, None, &mut cursor, None)
        .map(|_| ())
        .map_err(|e| ImageProblem::Loader(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid image: header, one PT_LOAD, 16 bytes of code.
    pub(crate) fn tiny_image(machine: u16, paddr: u64) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56 + 16];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        let vaddr = KERNEL_VIRT_BASE + paddr;
        b[24..32].copy_from_slice(&vaddr.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[52..54].copy_from_slice(&64u16.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&1u16.to_le_bytes());
        let ph = 64;
        b[ph..ph + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
        b[ph + 4..ph + 8].copy_from_slice(&5u32.to_le_bytes());
        b[ph + 8..ph + 16].copy_from_slice(&120u64.to_le_bytes());
        b[ph + 16..ph + 24].copy_from_slice(&vaddr.to_le_bytes());
        b[ph + 24..ph + 32].copy_from_slice(&paddr.to_le_bytes());
        b[ph + 32..ph + 40].copy_from_slice(&16u64.to_le_bytes());
        b[ph + 40..ph + 48].copy_from_slice(&4096u64.to_le_bytes());
        b
    }

    #[test]
    fn accepts_a_valid_image() {
        let info = inspect(&tiny_image(62, KERNEL_PHYS_BASE)).unwrap();
        assert_eq!(info.entry, KERNEL_VIRT_BASE + KERNEL_PHYS_BASE);
        assert_eq!(info.segments.len(), 1);
        assert_eq!(info.phys_end, KERNEL_PHYS_BASE + 4096);
    }

    #[test]
    fn rejects_non_elf() {
        assert_eq!(inspect(b"#!/bin/sh\necho hi\n"), Err(ImageProblem::NotElf));
        assert_eq!(inspect(b""), Err(ImageProblem::NotElf));
    }

    #[test]
    fn rejects_wrong_arch() {
        assert_eq!(
            inspect(&tiny_image(183, KERNEL_PHYS_BASE)),
            Err(ImageProblem::WrongArch(183, "aarch64"))
        );
    }

    #[test]
    fn rejects_32_bit() {
        let mut b = tiny_image(62, KERNEL_PHYS_BASE);
        b[4] = 1;
        assert_eq!(inspect(&b), Err(ImageProblem::WrongClass));
    }

    #[test]
    fn rejects_segments_outside_the_window() {
        assert!(matches!(
            inspect(&tiny_image(62, 0x1000)),
            Err(ImageProblem::OutOfWindow { .. })
        ));
    }

    #[test]
    fn rejects_truncated_segments() {
        let b = tiny_image(62, KERNEL_PHYS_BASE);
        assert!(matches!(
            inspect(&b[..b.len() - 8]),
            Err(ImageProblem::Malformed(_))
        ));
    }

    #[test]
    fn rejects_entry_outside_code() {
        let mut b = tiny_image(62, KERNEL_PHYS_BASE);
        b[24..32].copy_from_slice(&(KERNEL_VIRT_BASE + 0x10_0000).to_le_bytes());
        assert!(matches!(inspect(&b), Err(ImageProblem::BadEntry(_))));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = inspect(&bytes);
        }

        #[test]
        fn mutated_valid_image_never_panics(pos in 0usize..136, val in proptest::num::u8::ANY) {
            let mut b = tiny_image(62, KERNEL_PHYS_BASE);
            b[pos] = val;
            let _ = inspect(&b);
        }
    }
}
