//! The layout of a process's address space, as x86-64 Linux lays it out at `execve`.
//!
//! ```text
//! 0 .. min_addr               never mapped (mmap_min_addr, 64 KiB)
//! ELF image (ET_EXEC at its link addresses), then brk growing up from page_up(end of image)
//! legacy_base (task_size/3)   where the bottom-up search starts when top-down finds nothing
//! ELF_ET_DYN_BASE (2/3)       brk of a static PIE (moved here, away from the mmap area)
//! ... mmap area, allocated top-down from mmap_base: mmaps, a static PIE's image
//! mmap_base                   stack_top - stack rlimit - guard gap - stack randomisation, >= 128 MiB below
//! stack (grows down from stack_top, up to the stack rlimit)
//! stack_top <= task_size      0x7fff_ffff_f000: the top of the user half, minus Linux's guard page
//! ```
//!
//! Randomisation is an input ([`Random`]): the caller draws the random words (from the
//! vNode's seed, say) so tests and replays are deterministic; [`Layout::linux`] masks them the
//! way Linux does (28 bits of pages for the mmap base, 22 for the stack top, 1 GiB for brk as
//! since Linux 6.9; earlier kernels used 32 MiB). `None` is Linux with `randomize_va_space=0`
//! (what `setarch -R` gives): stack at `0x7fff_ffff_f000`, mmaps from `0x7fff_f7ff_f000` down.
//!
//! **Static PIE.** Linux loads an `ET_DYN` without `PT_INTERP` with load bias 0 through a
//! plain (not fixed) mmap of the whole image, so the image lands top-down below `mmap_base`
//! like any mmap, and it moves brk to `ELF_ET_DYN_BASE` (2/3 of the user space) so that brk
//! cannot run into the mmaps. We do the same: the loader takes the image's address from
//! [`crate::VmaTree::unmapped_area`] (aligned to the largest `PT_LOAD` `p_align`, as recent
//! kernels align `ET_DYN` images) and maps its segments `MAP_FIXED` there; [`Layout::brk_start`] with
//! [`Image::StaticPie`] gives `ELF_ET_DYN_BASE` (page-aligned; Linux keeps the unaligned
//! value when brk is not randomised) plus the brk offset.

use core::ops::Range;

use crate::{Error, PAGE_SIZE, page_down, page_up};

/// The exclusive top of user addresses on x86-64 with 4-level paging (Linux's `TASK_SIZE`:
/// the canonical lower half minus one guard page).
pub const USER_TOP: u64 = 0x7fff_ffff_f000;
/// The size of the canonical lower half (128 TiB), which vRegions cut into 1 GiB pieces.
pub const USER_SPACE: u64 = 1 << 47;
/// Linux's default `vm.mmap_min_addr`.
pub const MMAP_MIN_ADDR: u64 = 65536;
/// Linux's default `RLIMIT_STACK` (8 MiB).
pub const STACK_RLIMIT: u64 = 8 << 20;
/// Linux's default `stack_guard_gap`: 256 pages kept free below a grows-down stack.
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;
/// Linux's `ELF_ET_DYN_BASE` for x86-64 (2/3 of [`USER_TOP`]), page-aligned.
pub const ELF_ET_DYN_BASE: u64 = (USER_TOP / 3 * 2 + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
/// The largest stack-top randomisation (`STACK_RND_MASK` pages: 16 GiB minus a page).
pub const STACK_RANDOM_MAX: u64 = 0x3f_ffff * PAGE_SIZE;
/// Bits of page-granular randomisation of the mmap base (`vm.mmap_rnd_bits` default, 1 TiB).
pub const MMAP_RANDOM_BITS: u32 = 28;
/// The range of brk randomisation on x86-64 (Linux 6.9 and later).
pub const BRK_RANDOM_RANGE: u64 = 1 << 30;
/// The least gap between the stack top and the mmap base.
pub const MMAP_MIN_GAP: u64 = 128 << 20;
/// How far below the arguments the initial stack vma reaches (Linux's `stack_expand`).
pub const STACK_EXPAND: u64 = 128 << 10;

/// Random words for address-space randomisation, drawn by the caller. [`Layout::linux`] uses
/// only as many bits of each as Linux does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Random {
    /// For the stack top.
    pub stack: u64,
    /// For the mmap base (and the bottom-up fallback base).
    pub mmap: u64,
    /// For the start of brk.
    pub brk: u64,
}

impl Random {
    /// Three words from a seed (splitmix64), for callers that have only a seed.
    pub fn from_seed(seed: u64) -> Random {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Random {
            stack: next(),
            mmap: next(),
            brk: next(),
        }
    }
}

/// How the program's ELF image is placed, for [`Layout::brk_start`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// `ET_EXEC`: loaded at its link addresses; `end` is the end of its highest segment
    /// (`p_vaddr + p_memsz`, bss included).
    Exec {
        /// End of the highest segment in memory.
        end: u64,
    },
    /// `ET_DYN` without interpreter (static PIE): placed top-down in the mmap area.
    StaticPie,
}

/// A process's address-space layout. Fields are public for tests that want a small address
/// space; [`crate::VmaTree::new`] sanitises them (page alignment, everything within
/// `task_size <= USER_TOP`), so no field value makes an operation panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Exclusive top of user addresses.
    pub task_size: u64,
    /// Lowest address a mapping may have (`mmap_min_addr`).
    pub min_addr: u64,
    /// Top of the stack (exclusive end of the stack vma).
    pub stack_top: u64,
    /// `RLIMIT_STACK`: how far the stack vma may grow down from its end (bytes; `u64::MAX` is
    /// unlimited).
    pub stack_limit: u64,
    /// Free bytes kept below a grows-down vma: by the mmap search, by brk, and by stack growth
    /// towards the vma below.
    pub guard_gap: u64,
    /// Top of the top-down mmap search.
    pub mmap_base: u64,
    /// Bottom of the bottom-up search Linux falls back on when the top-down search fails.
    pub legacy_base: u64,
    /// Random page-aligned offset added to the start of brk.
    pub brk_offset: u64,
}

impl Layout {
    /// The layout x86-64 Linux gives a 64-bit process with stack rlimit `stack_limit`, with
    /// randomisation from `random` (`None`: no randomisation).
    pub fn linux(stack_limit: u64, random: Option<Random>) -> Layout {
        let task_size = USER_TOP;
        let (stack_rnd, mmap_rnd, brk_offset, stack_pad) = match random {
            Some(r) => (
                (r.stack & 0x3f_ffff) * PAGE_SIZE,
                (r.mmap & ((1 << MMAP_RANDOM_BITS) - 1)) * PAGE_SIZE,
                (r.brk % (BRK_RANDOM_RANGE / PAGE_SIZE)) * PAGE_SIZE,
                STACK_RANDOM_MAX,
            ),
            None => (0, 0, 0, 0),
        };
        // Linux's mmap_base(): the stack rlimit plus the guard gap and the largest stack
        // randomisation (unless that overflows, as with RLIM_INFINITY), clamped.
        let mut gap = stack_limit;
        let pad = stack_pad + STACK_GUARD_GAP;
        if let Some(g) = gap.checked_add(pad) {
            gap = g;
        }
        let gap = gap.clamp(MMAP_MIN_GAP, task_size / 6 * 5);
        let mmap_base = page_up(task_size - gap - mmap_rnd).unwrap_or(task_size);
        let legacy_base = page_up(task_size / 3).unwrap_or(task_size) + mmap_rnd;
        Layout {
            task_size,
            min_addr: MMAP_MIN_ADDR,
            stack_top: task_size - stack_rnd,
            stack_limit,
            guard_gap: STACK_GUARD_GAP,
            mmap_base,
            legacy_base,
            brk_offset,
        }
    }

    /// This layout with every field made consistent: addresses page-aligned (rounded down,
    /// `min_addr` up) and within `task_size`, `task_size` within [`USER_TOP`].
    pub fn sanitized(self) -> Layout {
        let task_size = page_down(self.task_size.min(USER_TOP));
        let clamp = |a: u64| page_down(a.min(task_size));
        Layout {
            task_size,
            min_addr: page_up(self.min_addr).unwrap_or(task_size).min(task_size),
            stack_top: clamp(self.stack_top),
            stack_limit: self.stack_limit,
            guard_gap: page_down(self.guard_gap),
            mmap_base: clamp(self.mmap_base),
            legacy_base: clamp(self.legacy_base),
            brk_offset: page_down(self.brk_offset),
        }
    }

    /// Where brk starts for `image` (Linux's `start_brk`): just above an `ET_EXEC` image,
    /// at [`ELF_ET_DYN_BASE`] (scaled to `task_size`) for a static PIE, plus the random offset.
    pub fn brk_start(&self, image: Image) -> u64 {
        let base = match image {
            Image::Exec { end } => page_up(end).unwrap_or(self.task_size),
            Image::StaticPie => page_up(self.task_size / 3 * 2).unwrap_or(self.task_size),
        };
        base.saturating_add(self.brk_offset).min(self.task_size)
    }

    /// The stack vma at `execve`, given the bytes the arguments, environment and auxiliary
    /// vector take at the top of the stack: those pages plus [`STACK_EXPAND`] below them,
    /// within the stack rlimit, as Linux's `setup_arg_pages`. Map it anonymous, read-write,
    /// grows-down. [`Error::Limit`] if the arguments alone pass the rlimit (Linux fails the
    /// `execve` with `E2BIG` earlier, at a quarter of it; the caller may check that).
    pub fn initial_stack(&self, arg_bytes: u64) -> Result<Range<u64>, Error> {
        let args = page_up(arg_bytes).ok_or(Error::Limit)?;
        let room = self.stack_top.saturating_sub(self.min_addr);
        if args > self.stack_limit || args > room {
            return Err(Error::Limit);
        }
        let size = args
            .saturating_add(STACK_EXPAND)
            .min(page_down(self.stack_limit))
            .min(room);
        Ok(self.stack_top - size..self.stack_top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_without_randomisation_matches_setarch_r() {
        let l = Layout::linux(STACK_RLIMIT, None);
        assert_eq!(l.stack_top, 0x7fff_ffff_f000);
        assert_eq!(l.mmap_base, 0x7fff_f7ff_f000);
        assert_eq!(l.legacy_base, 0x2aaa_aaaa_b000);
        assert_eq!(ELF_ET_DYN_BASE, 0x5555_5555_5000);
        assert_eq!(l.brk_start(Image::StaticPie), ELF_ET_DYN_BASE);
        assert_eq!(l.brk_start(Image::Exec { end: 0x4c_1234 }), 0x4c_2000);
    }

    #[test]
    fn randomisation_uses_linux_bit_counts() {
        let r = Random {
            stack: u64::MAX,
            mmap: u64::MAX,
            brk: u64::MAX,
        };
        let l = Layout::linux(STACK_RLIMIT, Some(r));
        assert_eq!(l.stack_top, USER_TOP - STACK_RANDOM_MAX);
        let gap = STACK_RLIMIT + STACK_GUARD_GAP + STACK_RANDOM_MAX;
        assert_eq!(l.mmap_base, USER_TOP - gap - ((1 << 28) - 1) * PAGE_SIZE);
        assert!(l.mmap_base + gap <= l.stack_top + STACK_RANDOM_MAX);
        assert!(l.brk_offset < BRK_RANDOM_RANGE && l.brk_offset.is_multiple_of(PAGE_SIZE));
        assert_eq!(Random::from_seed(7), Random::from_seed(7));
        assert_ne!(Random::from_seed(7), Random::from_seed(8));
    }

    #[test]
    fn unlimited_stack_rlimit_caps_the_gap() {
        let l = Layout::linux(u64::MAX, None);
        assert_eq!(l.mmap_base, page_up(USER_TOP - USER_TOP / 6 * 5).unwrap());
    }

    #[test]
    fn initial_stack_is_args_plus_128k_within_the_rlimit() {
        let l = Layout::linux(STACK_RLIMIT, None);
        assert_eq!(
            l.initial_stack(100).unwrap(),
            USER_TOP - 4096 - STACK_EXPAND..USER_TOP
        );
        let small = Layout {
            stack_limit: 64 << 10,
            ..l
        };
        assert_eq!(
            small.initial_stack(100).unwrap(),
            USER_TOP - (64 << 10)..USER_TOP
        );
        assert_eq!(small.initial_stack(65 << 10), Err(Error::Limit));
        assert_eq!(l.initial_stack(u64::MAX), Err(Error::Limit));
    }

    #[test]
    fn sanitized_keeps_everything_inside_task_size() {
        let l = Layout {
            task_size: u64::MAX,
            min_addr: u64::MAX,
            stack_top: u64::MAX,
            stack_limit: 0,
            guard_gap: 12345,
            mmap_base: 1,
            legacy_base: u64::MAX,
            brk_offset: 4097,
        }
        .sanitized();
        assert_eq!(l.task_size, USER_TOP);
        assert_eq!(
            (l.min_addr, l.stack_top, l.legacy_base),
            (USER_TOP, USER_TOP, USER_TOP)
        );
        assert_eq!((l.guard_gap, l.mmap_base, l.brk_offset), (12288, 0, 4096));
    }
}
