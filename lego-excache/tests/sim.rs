//! Random programs on the reference glue over a simulated page table, TLB and memory
//! components ([`Sim`]), for every policy and a range of shapes, batch sizes, owners and
//! piggyback settings: every access reaches a frame that holds its line, every read returns
//! what the program last wrote (zero if never, or since an munmap or exit), and after every
//! step every PTE maps a valid line of its own slot and every TLB entry a slot that still
//! holds its line (valid, or picked and not yet flushed). A frame reused before the TLB flush
//! that covers it, a lost write-back, or a line fetched while its dirty copy was still in the
//! cache would fail one of these.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use lego_excache::testing::{Sim, SimConfig};
use lego_excache::{Config, Policy};
use proptest::prelude::*;

const PAGE: u64 = 4096;
const GIB: u64 = 1 << 30;

#[derive(Clone, Debug)]
enum Op {
    Read(u32, u64, u64),
    Write(u32, u64, u64, u64),
    Munmap(u32, u64, u64, u64),
    Exit(u32),
    TlbDrop(usize),
}

/// Pages 0..40 of regions 0..3 (1 GiB apart, so owners differ), biased to region 0.
fn page() -> impl Strategy<Value = (u64, u64)> {
    (prop_oneof![3 => Just(0u64), 1 => 1..3u64], 0..40u64)
}

fn op() -> impl Strategy<Value = Op> {
    let asid = 0..2u32;
    prop_oneof![
        10 => (asid.clone(), page()).prop_map(|(a, (r, p))| Op::Read(a, r, p)),
        10 => (asid.clone(), page(), any::<u64>()).prop_map(|(a, (r, p), v)| Op::Write(a, r, p, v | 1)),
        1 => (asid.clone(), page(), 1..12u64).prop_map(|(a, (r, p), n)| Op::Munmap(a, r, p, n)),
        1 => asid.prop_map(Op::Exit),
        3 => any::<usize>().prop_map(Op::TlbDrop),
    ]
}

fn sim_config() -> impl Strategy<Value = SimConfig> {
    (
        prop_oneof![Just(1u32), Just(2), Just(4), Just(8), Just(6)],
        1..=6u32,
        prop_oneof![3 => Just(1u32), 1 => Just(2), 1 => Just(8)],
        prop_oneof![
            Just(Policy::Fifo),
            Just(Policy::Lru),
            any::<u64>().prop_map(|seed| Policy::Random { seed }),
        ],
        0..4u32,
        1..20u32,
        (1..=3u32, 0..=2usize, 0..=4usize),
    )
        .prop_map(
            |(
                ways,
                sets,
                line_pages,
                policy,
                reserve,
                flush_batch,
                (owners, max_riders, per_message),
            )| {
                SimConfig {
                    cache: Config {
                        slots: ways * sets,
                        ways,
                        line_pages,
                        policy,
                        reserve: reserve % ways,
                        flush_batch,
                    },
                    owners,
                    max_riders,
                    per_message,
                }
            },
        )
}

fn run(cfg: SimConfig, ops: &[Op]) -> Result<Sim, TestCaseError> {
    let mut sim = Sim::new(cfg).unwrap();
    let fail = |op: &Op, e: String| TestCaseError::fail(format!("{op:?}: {e}"));
    for op in ops {
        match *op {
            Op::Read(a, r, p) => sim.access(a, r * GIB + p * PAGE + 8, None).map(drop),
            Op::Write(a, r, p, v) => sim.access(a, r * GIB + p * PAGE, Some(v)).map(drop),
            Op::Munmap(a, r, p, n) => sim.munmap(a, r * GIB + p * PAGE..r * GIB + (p + n) * PAGE),
            Op::Exit(a) => sim.exit(a),
            Op::TlbDrop(i) => {
                sim.tlb_drop(i);
                Ok(())
            }
        }
        .map_err(|e| fail(op, e))?;
        sim.verify().map_err(|e| fail(op, e))?;
    }
    // Everything the program wrote (and did not unmap) reads back.
    for a in 0..2 {
        for r in 0..3 {
            for p in 0..40 {
                sim.access(a, r * GIB + p * PAGE, None)
                    .map_err(|e| TestCaseError::fail(format!("final read: {e}")))?;
                sim.verify().map_err(TestCaseError::fail)?;
            }
        }
    }
    Ok(sim)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn programs_never_see_a_stale_line(cfg in sim_config(), ops in prop::collection::vec(op(), 1..200)) {
        run(cfg, &ops)?;
    }

    /// With one memory component every flush taken at a fetching miss can carry a rider.
    #[test]
    fn write_backs_ride_on_misses_with_one_owner(
        cfg in sim_config(),
        ops in prop::collection::vec(op(), 50..200),
    ) {
        let cfg = SimConfig { owners: 1, max_riders: 1, ..cfg };
        let sim = run(cfg, &ops)?;
        let s = sim.cache.stats();
        prop_assert_eq!(s.piggybacked, sim.stats.riders);
        prop_assert!(sim.stats.riders <= sim.stats.writebacks);
    }
}
