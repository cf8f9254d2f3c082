//! Counters ([`Stats`]) and per-set occupancy ([`SetCounts`]).

/// Counters since [`crate::Cache::new`], and the current number of slots in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lookups that found a valid line.
    pub hits: u64,
    /// Lookups that found a picked victim not yet flushed, and took it back.
    pub rescues: u64,
    /// Lookups that found the line being filled or flushed (the caller waits, then retries).
    pub busy: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Lines filled and made valid (fetched or zeroed).
    pub fills: u64,
    /// Of `fills`, lines zero-filled locally on the first touch of anonymous memory.
    pub plocal_fills: u64,
    /// Fills that completed after their line was invalidated (the line was not kept).
    pub discarded_fills: u64,
    /// Fills the caller reported failed.
    pub failed_fills: u64,
    /// Victims that left the cache clean (taken into a flush batch).
    pub evicted_clean: u64,
    /// Victims that left the cache dirty.
    pub evicted_dirty: u64,
    /// Lines invalidated clean (munmap, madvise, exit).
    pub invalidated_clean: u64,
    /// Lines invalidated dirty.
    pub invalidated_dirty: u64,
    /// Dirty victims confirmed written back to their owner.
    pub writebacks: u64,
    /// Victims whose write-back failed (they went back into the cache).
    pub failed_writebacks: u64,
    /// Write-backs that rode on a miss request (reported by the caller).
    pub piggybacked: u64,
    /// Victim picks that picked at least one line.
    pub victim_batches: u64,
    /// Lines picked as victims (rescued ones included).
    pub picked: u64,
    /// Flush tickets issued: each asks the caller for one TLB flush.
    pub tlb_flushes: u64,
    /// Slots free now.
    pub free: u32,
    /// Slots being filled now.
    pub filling: u32,
    /// Valid clean lines now.
    pub clean: u32,
    /// Valid dirty lines now.
    pub dirty: u32,
    /// Picked victims waiting for a flush batch now.
    pub evicting: u32,
    /// Slots in a flush batch now.
    pub flushing: u32,
}

/// Occupancy of one set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetCounts {
    /// Free slots.
    pub free: u32,
    /// Valid lines (clean or dirty).
    pub valid: u32,
    /// Picked victims waiting for a flush batch.
    pub evicting: u32,
    /// Slots being filled or in a flush batch.
    pub busy: u32,
}
