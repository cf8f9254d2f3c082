//! The cache's shape and tuning ([`Config`]), validated once by [`crate::Cache::new`].

use core::fmt;

/// log2 of the page size: lines are `line_pages` pages of 4 KiB.
pub const PAGE_SHIFT: u32 = 12;

/// The largest line, in pages (2 MiB lines: one page-table page of PTEs per line).
pub const MAX_LINE_PAGES: u32 = 512;

/// The most slots a cache can have: slot numbers are `u32` and `u32::MAX` means "no slot" in
/// the links of the metadata.
pub const MAX_SLOTS: u32 = u32::MAX - 1;

/// How a victim is chosen among the valid lines of a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The line filled longest ago. The paper's best policy (with a free list and piggyback):
    /// no work on hits, which matters here because a hit on the fault path is a trap anyway.
    Fifo,
    /// The line touched longest ago, by the glue's [`crate::Cache::touch`] calls. The glue only
    /// sees uses that fault (fills, write upgrades, rescues), so this is LRU over faults, not
    /// over accesses.
    Lru,
    /// A pseudo-random line: xorshift64 seeded from `seed`, so runs are reproducible.
    Random {
        /// Seed of the generator (any value; 0 is fine).
        seed: u64,
    },
}

/// Shape and tuning of a [`crate::Cache`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Lines the reserved frames hold (`slots * line_pages` frames). Slot `i` is way
    /// `i % ways` of set `i / ways`.
    pub slots: u32,
    /// Associativity: lines per set. Any divisor of `slots` (`slots` itself: fully
    /// associative); the set function works for any number of sets, not just powers of two,
    /// so the arena need not be one.
    pub ways: u32,
    /// Pages per line: a power of two from 1 to [`MAX_LINE_PAGES`]. A line is naturally
    /// aligned to its size.
    pub line_pages: u32,
    /// Victim choice.
    pub policy: Policy,
    /// Slots per set kept free or on their way to free (victims picked and unmapped, waiting
    /// for the next TLB flush) ahead of demand: [`crate::Cache::needs_reclaim`] asks for
    /// victims when a set has fewer. At most `ways - 1`; 0 means evict only when a miss finds
    /// the set full (then every such miss pays a TLB flush).
    pub reserve: u32,
    /// Picked victims that make a TLB flush due ([`crate::Cache::flush_due`]): one flush
    /// (17-19 µs here) covers them all. At least 1.
    pub flush_batch: u32,
}

impl Config {
    /// `slots` lines in sets of `ways`, 4 KiB lines, FIFO, a reserve of one slot per set (none
    /// if direct-mapped) and a TLB flush per 16 victims.
    pub const fn new(slots: u32, ways: u32) -> Config {
        Config {
            slots,
            ways,
            line_pages: 1,
            policy: Policy::Fifo,
            reserve: if ways > 1 { 1 } else { 0 },
            flush_batch: 16,
        }
    }

    /// Checks the configuration; returns (number of sets, log2 of the line size in bytes).
    pub(crate) fn validate(&self) -> Result<(u32, u32), ConfigError> {
        if self.slots == 0 {
            return Err(ConfigError::NoSlots);
        }
        if self.slots > MAX_SLOTS {
            return Err(ConfigError::TooManySlots);
        }
        if self.ways == 0 || self.ways > self.slots || !self.slots.is_multiple_of(self.ways) {
            return Err(ConfigError::Ways);
        }
        if !self.line_pages.is_power_of_two() || self.line_pages > MAX_LINE_PAGES {
            return Err(ConfigError::LinePages);
        }
        if self.reserve >= self.ways {
            return Err(ConfigError::Reserve);
        }
        if self.flush_batch == 0 {
            return Err(ConfigError::FlushBatch);
        }
        Ok((
            self.slots / self.ways,
            PAGE_SHIFT + self.line_pages.trailing_zeros(),
        ))
    }
}

/// Why a [`Config`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `slots` is 0.
    NoSlots,
    /// `slots` is above [`MAX_SLOTS`].
    TooManySlots,
    /// `ways` is 0, above `slots`, or does not divide it.
    Ways,
    /// `line_pages` is not a power of two up to [`MAX_LINE_PAGES`].
    LinePages,
    /// `reserve` is not below `ways`.
    Reserve,
    /// `flush_batch` is 0.
    FlushBatch,
    /// The metadata could not be allocated.
    OutOfMemory,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::NoSlots => "ExCache has no slots",
            ConfigError::TooManySlots => "ExCache has more slots than a u32 can number",
            ConfigError::Ways => "ExCache ways must be between 1 and slots and divide slots",
            ConfigError::LinePages => "ExCache line pages must be a power of two up to 512",
            ConfigError::Reserve => "ExCache reserve must be below the number of ways",
            ConfigError::FlushBatch => "ExCache flush batch must be at least 1",
            ConfigError::OutOfMemory => "no memory for the ExCache metadata",
        })
    }
}

impl core::error::Error for ConfigError {}
