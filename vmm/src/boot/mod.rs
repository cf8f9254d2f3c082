//! Everything written into a guest before its first instruction.

pub mod elf;
pub mod gdt;
pub mod paging;
pub mod plan;
pub mod regs;
