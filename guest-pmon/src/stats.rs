//! A run's counters: what `lego run --stats` prints.

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use lego_proto::proc::{OwnerBytes, ProcStats};

/// Buckets of the miss-latency histogram: powers of two of 64 ns, up to ~4 s.
const BUCKETS: usize = 26;

/// Counters of one process.
#[derive(Debug, Default)]
pub struct Counters {
    /// Syscalls.
    pub syscalls: u64,
    /// Page faults.
    pub faults: u64,
    /// Misses fetched from an owner.
    pub misses: u64,
    /// First touches filled here.
    pub plocal: u64,
    /// Faults on cached lines.
    pub hits: u64,
    /// Lines evicted.
    pub evictions: u64,
    /// Dirty lines written back.
    pub flushes: u64,
    /// Written back on a miss request.
    pub piggybacks: u64,
    /// TLB flushes.
    pub tlb_flushes: u64,
    /// Interrupts while the program ran.
    pub interrupts: u64,
    /// Pages mapped around first touches (also counted in `plocal`).
    pub fault_around: u64,
    /// Signal handlers entered.
    pub signals: u64,
    /// ns in user code.
    pub user_ns: u64,
    /// ns in the monitor for it.
    pub system_ns: u64,
    /// Syscall counts by number.
    pub by_syscall: BTreeMap<u32, u32>,
    /// (fetched, flushed) bytes per owner.
    pub owners: BTreeMap<u32, (u64, u64)>,
    hist: [u64; BUCKETS],
}

impl Counters {
    /// The (fetched, flushed) bytes of `owner`.
    pub fn owner(&mut self, owner: u32) -> &mut (u64, u64) {
        self.owners.entry(owner).or_default()
    }

    /// Counts a miss that took `ns`.
    pub fn note_miss(&mut self, ns: u64) {
        self.misses += 1;
        let b = (64 - (ns / 64).leading_zeros() as usize).min(BUCKETS - 1);
        self.hist[b] += 1;
    }

    /// The `q`-quantile (0..=1000 per mille) of the miss latency: the upper edge of its bucket.
    pub fn miss_quantile(&self, per_mille: u64) -> u64 {
        let total: u64 = self.hist.iter().sum();
        if total == 0 {
            return 0;
        }
        let want = (total * per_mille).div_ceil(1000).max(1);
        let mut seen = 0;
        for (i, n) in self.hist.iter().enumerate() {
            seen += n;
            if seen >= want {
                return 64u64 << i;
            }
        }
        64u64 << (BUCKETS - 1)
    }

    /// The wire form.
    pub fn proc_stats(&self, wall_ns: u64, excache_bytes: u64, ways: u64) -> ProcStats {
        ProcStats {
            wall_ns,
            user_ns: self.user_ns,
            system_ns: self.system_ns,
            syscalls: self.syscalls,
            faults: self.faults,
            misses: self.misses,
            plocal: self.plocal,
            hits: self.hits,
            evictions: self.evictions,
            flushes: self.flushes,
            piggybacks: self.piggybacks,
            tlb_flushes: self.tlb_flushes,
            miss_p50_ns: self.miss_quantile(500),
            miss_p99_ns: self.miss_quantile(990),
            excache_bytes,
            ways,
            interrupts: self.interrupts,
            fault_around: self.fault_around,
        }
    }

    /// Per-owner bytes, wire form.
    pub fn owner_bytes(&self) -> Vec<OwnerBytes> {
        self.owners
            .iter()
            .map(|(&owner, &(fetched, flushed))| OwnerBytes {
                owner,
                _pad: 0,
                fetched,
                flushed,
            })
            .collect()
    }
}
