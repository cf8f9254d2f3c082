//! Arbitrary arguments (any process id, address, range, slot, set, ticket, count) in any
//! order never panic and never break the cache's invariants.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use lego_excache::{Cache, Config, Key, Policy, Slot, Source, Ticket};
use proptest::prelude::*;

fn addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (0..64u64).prop_map(|x| u64::MAX - x),
        (0..16u64).prop_map(|x| x << 12),
    ]
}

fn small() -> impl Strategy<Value = u32> {
    prop_oneof![0..20u32, any::<u32>(), Just(u32::MAX)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn any_call_is_safe(
        ways in prop_oneof![Just(1u32), Just(2), Just(4)],
        sets in 1..4u32,
        line_pages in prop_oneof![Just(1u32), Just(512)],
        seed in any::<u64>(),
        calls in prop::collection::vec((0..12u8, prop_oneof![0..3u32, any::<u32>()], addr(), addr(), small(), small()), 1..120),
    ) {
        let cfg = Config {
            line_pages,
            policy: Policy::Random { seed },
            reserve: ways - 1,
            flush_batch: 2,
            ..Config::new(ways * sets, ways)
        };
        let mut c = Cache::new(cfg).unwrap();
        let mut out = Vec::new();
        for (kind, asid, a, b, x, y) in calls {
            let key = Key { asid, va: a };
            let slot = Slot(x % (cfg.slots + 2));
            match kind {
                0 => drop(c.lookup(key)),
                1 => drop(c.alloc(key)),
                2 => drop(c.filled(slot, Source::Zeroed, y % 2 == 0)),
                3 => drop(c.fill_failed(slot)),
                4 => drop((c.mark_dirty(slot), c.touch(slot))),
                5 => drop(c.pick_victims(x, y % 8, &mut out)),
                6 => drop(c.needs_reclaim(x)),
                7 => drop(c.take_flush_batch(&mut out)),
                8 => drop(c.victims_flushed(Ticket(y % 4), out.iter().map(|v| v.slot).chain([slot]))),
                9 => drop(c.flush_failed(Ticket(y % 4), slot)),
                10 => drop(c.invalidate(asid, a.min(b)..a.max(b), &mut out)),
                _ => drop(c.drop_asid(asid, &mut out)),
            }
            if out.len() > 64 {
                out.clear();
            }
            c.verify().map_err(TestCaseError::fail)?;
            let _ = (c.set_counts(x), c.state(slot), c.key_of(slot), c.peek(key), c.slot_set(slot));
        }
    }
}
