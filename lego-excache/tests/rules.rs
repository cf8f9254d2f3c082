//! One test per rule of the cache.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use lego_excache::piggyback::{Message, Plan};
use lego_excache::testing::{Sim, SimConfig};
use lego_excache::{
    Cache, Config, ConfigError, Error, Filled, Key, Lookup, Policy, Slot, Source, State, Ticket,
    Victim, set_index,
};

const P: u64 = 4096;

fn cache(cfg: Config) -> Cache {
    Cache::new(cfg).unwrap()
}

/// One set of `ways` ways.
fn one_set(ways: u32, policy: Policy) -> Cache {
    cache(Config {
        policy,
        reserve: 0,
        ..Config::new(ways, ways)
    })
}

fn k(asid: u32, va: u64) -> Key {
    Key { asid, va }
}

/// The fault path for a line not cached: alloc and fill.
fn fill(c: &mut Cache, key: Key, dirty: bool) -> Slot {
    assert_eq!(c.lookup(key), Lookup::Miss);
    let s = c.alloc(key).unwrap();
    assert_eq!(c.filled(s, Source::Fetched, dirty), Ok(Filled::Map));
    s
}

fn pick(c: &mut Cache, set: u32, n: u32) -> Vec<Victim> {
    let mut v = Vec::new();
    c.pick_victims(set, n, &mut v).unwrap();
    v
}

fn take(c: &mut Cache) -> (Ticket, Vec<Victim>) {
    let mut v = Vec::new();
    let t = c.take_flush_batch(&mut v).unwrap();
    (t, v)
}

fn slots(v: &[Victim]) -> Vec<Slot> {
    v.iter().map(|v| v.slot).collect()
}

fn vas(v: &[Victim]) -> Vec<u64> {
    v.iter().map(|v| v.key.va).collect()
}

// ---------------------------------------------------------------- configuration

#[test]
fn configurations_are_validated() {
    let ok = Config::new(64, 8);
    Cache::new(ok).unwrap();
    let bad = [
        (Config { slots: 0, ..ok }, ConfigError::NoSlots),
        (
            Config {
                slots: u32::MAX,
                ..ok
            },
            ConfigError::TooManySlots,
        ),
        (Config { ways: 0, ..ok }, ConfigError::Ways),
        (Config { ways: 128, ..ok }, ConfigError::Ways),
        (Config { ways: 7, ..ok }, ConfigError::Ways),
        (
            Config {
                line_pages: 0,
                ..ok
            },
            ConfigError::LinePages,
        ),
        (
            Config {
                line_pages: 3,
                ..ok
            },
            ConfigError::LinePages,
        ),
        (
            Config {
                line_pages: 1024,
                ..ok
            },
            ConfigError::LinePages,
        ),
        (Config { reserve: 8, ..ok }, ConfigError::Reserve),
        (
            Config {
                flush_batch: 0,
                ..ok
            },
            ConfigError::FlushBatch,
        ),
    ];
    for (cfg, e) in bad {
        assert_eq!(Cache::new(cfg).err(), Some(e), "{cfg:?}");
    }
}

#[test]
fn ways_need_not_be_a_power_of_two() {
    let c = cache(Config::new(60, 12));
    assert_eq!(c.sets(), 5);
    let c = cache(Config::new(60, 60));
    assert_eq!(c.sets(), 1, "fully associative");
    assert_eq!(Config::new(8, 1).reserve, 0, "direct-mapped has no reserve");
}

// ---------------------------------------------------------------- lookup and fill

#[test]
fn miss_fill_hit() {
    let mut c = cache(Config::new(16, 4));
    let key = k(1, 0x40_0000);
    let s = fill(&mut c, key, false);
    assert_eq!(c.lookup(key), Lookup::Hit(s));
    assert_eq!(c.state(s), Ok(State::Clean));
    let st = c.stats();
    assert_eq!(
        (st.misses, st.hits, st.fills, st.clean, st.free),
        (1, 1, 1, 1, 15)
    );
    c.verify().unwrap();
}

#[test]
fn any_address_in_a_line_is_that_line() {
    let mut c = cache(Config {
        line_pages: 8,
        ..Config::new(16, 4)
    });
    assert_eq!(c.line_bytes(), 8 * P);
    let s = fill(&mut c, k(1, 0x10_0000 + 5 * P + 17), false);
    assert_eq!(c.lookup(k(1, 0x10_0000)), Lookup::Hit(s));
    assert_eq!(c.lookup(k(1, 0x10_0000 + 8 * P - 1)), Lookup::Hit(s));
    assert_eq!(c.lookup(k(1, 0x10_0000 + 8 * P)), Lookup::Miss);
    assert_eq!(c.key_of(s), Ok(Some(k(1, 0x10_0000))), "aligned");
    assert_eq!(c.line_key(1, 0x10_0000 + 3 * P), k(1, 0x10_0000));
}

#[test]
fn processes_are_separate() {
    let mut c = cache(Config::new(16, 4));
    let s = fill(&mut c, k(1, 0x1000), false);
    assert_eq!(c.lookup(k(2, 0x1000)), Lookup::Miss);
    let t = fill(&mut c, k(2, 0x1000), false);
    assert_ne!(s, t);
}

#[test]
fn a_line_is_allocated_once() {
    let mut c = cache(Config::new(16, 4));
    let key = k(1, 0x1000);
    let s = c.alloc(key).unwrap();
    assert_eq!(
        c.alloc(key),
        Err(Error::Present {
            slot: s,
            state: State::Filling
        })
    );
    assert_eq!(
        c.lookup(key),
        Lookup::Busy(s),
        "a second fault waits for the fill"
    );
    c.filled(s, Source::Fetched, false).unwrap();
    assert_eq!(
        c.alloc(key),
        Err(Error::Present {
            slot: s,
            state: State::Clean
        })
    );
    assert_eq!(c.stats().busy, 1);
}

#[test]
fn a_line_lands_in_the_set_of_the_documented_function() {
    let mut c = cache(Config::new(64, 4));
    for (asid, va) in [
        (1u32, 0u64),
        (1, 0x7fff_f000),
        (9, 0x1234_5000),
        (u32::MAX, u64::MAX),
    ] {
        let key = k(asid, va);
        let set = set_index(asid, va >> 12, 16);
        assert_eq!(c.set_of(key), set);
        let s = c.alloc(key).unwrap();
        assert_eq!(c.slot_set(s), Ok(set));
        assert_eq!(s.0 / 4, set, "slot i is a way of set i / ways");
    }
}

#[test]
fn free_slots_in_way_order_then_most_recently_freed_first() {
    let mut c = one_set(4, Policy::Fifo);
    let a: Vec<Slot> = (0..4).map(|i| fill(&mut c, k(1, i * P), false)).collect();
    assert_eq!(a, [Slot(0), Slot(1), Slot(2), Slot(3)]);
    assert_eq!(c.alloc(k(1, 9 * P)), Err(Error::Full { set: 0 }));
    pick(&mut c, 0, 2);
    let (t, v) = take(&mut c);
    c.victims_flushed(t, [v[1].slot, v[0].slot]).unwrap();
    assert_eq!(c.alloc(k(1, 10 * P)), Ok(v[0].slot));
    assert_eq!(c.alloc(k(1, 11 * P)), Ok(v[1].slot));
}

#[test]
fn a_failed_fill_frees_the_slot() {
    let mut c = cache(Config::new(4, 4));
    let key = k(1, 0);
    let s = c.alloc(key).unwrap();
    c.fill_failed(s).unwrap();
    assert_eq!(c.state(s), Ok(State::Free));
    assert_eq!(c.lookup(key), Lookup::Miss);
    assert_eq!(c.stats().failed_fills, 1);
}

#[test]
fn plocal_fills_are_counted() {
    let mut c = cache(Config::new(4, 4));
    let s = c.alloc(k(1, 0)).unwrap();
    c.filled(s, Source::Zeroed, true).unwrap();
    assert_eq!(c.state(s), Ok(State::Dirty));
    let st = c.stats();
    assert_eq!((st.fills, st.plocal_fills, st.dirty), (1, 1, 1));
}

#[test]
fn writes_mark_lines_dirty() {
    let mut c = cache(Config::new(4, 4));
    let s = fill(&mut c, k(1, 0), false);
    c.mark_dirty(s).unwrap();
    c.mark_dirty(s).unwrap();
    assert_eq!(c.state(s), Ok(State::Dirty));
    let v = pick(&mut c, 0, 1);
    assert!(v[0].dirty);
}

// ---------------------------------------------------------------- policies

#[test]
fn fifo_evicts_in_fill_order_whatever_is_touched() {
    let mut c = one_set(4, Policy::Fifo);
    let s: Vec<Slot> = (0..4).map(|i| fill(&mut c, k(1, i * P), false)).collect();
    c.touch(s[0]).unwrap();
    c.lookup(k(1, 0));
    assert_eq!(vas(&pick(&mut c, 0, 4)), [0, P, 2 * P, 3 * P]);
}

#[test]
fn lru_evicts_the_least_recently_touched() {
    let mut c = one_set(4, Policy::Lru);
    let s: Vec<Slot> = (0..4).map(|i| fill(&mut c, k(1, i * P), false)).collect();
    c.touch(s[0]).unwrap();
    c.touch(s[2]).unwrap();
    assert_eq!(vas(&pick(&mut c, 0, 4)), [P, 3 * P, 0, 2 * P]);
}

#[test]
fn random_is_reproducible_and_seed_dependent() {
    let run = |seed| {
        let mut c = one_set(16, Policy::Random { seed });
        for i in 0..16 {
            fill(&mut c, k(1, i * P), false);
        }
        vas(&pick(&mut c, 0, 8))
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    let mut v = run(7);
    v.sort_unstable();
    v.dedup();
    assert_eq!(v.len(), 8, "distinct victims");
}

#[test]
fn victims_are_only_valid_lines() {
    for policy in [Policy::Fifo, Policy::Lru, Policy::Random { seed: 3 }] {
        let mut c = one_set(4, policy);
        let busy = c.alloc(k(1, 0)).unwrap(); // Filling
        fill(&mut c, k(1, P), false);
        fill(&mut c, k(1, 2 * P), true);
        fill(&mut c, k(1, 3 * P), false);
        let first = pick(&mut c, 0, 1); // Evicting
        let (_, flushing) = take(&mut c); // Flushing
        assert_eq!(first, flushing);
        let rest = pick(&mut c, 0, 4);
        assert_eq!(rest.len(), 2, "{policy:?}");
        for v in rest.iter().chain(&first) {
            assert_ne!(v.slot, busy);
        }
        assert!(rest.iter().all(|v| v.slot != first[0].slot));
        assert_eq!(pick(&mut c, 0, 1), [], "nothing valid left");
    }
}

// ---------------------------------------------------------------- batches

#[test]
fn a_picked_victim_is_rescued_by_a_fault_before_its_flush() {
    let mut c = one_set(4, Policy::Fifo);
    let s = fill(&mut c, k(1, 0), true);
    fill(&mut c, k(1, P), false);
    let v = pick(&mut c, 0, 1);
    assert_eq!(v[0].slot, s);
    assert_eq!(c.state(s), Ok(State::Evicting { dirty: true }));
    assert_eq!(c.lookup(k(1, 0)), Lookup::Rescued(s));
    assert_eq!(c.state(s), Ok(State::Dirty), "still dirty, same frame");
    assert_eq!(c.pending(), 0);
    let mut out = Vec::new();
    assert_eq!(c.take_flush_batch(&mut out), None, "nothing to flush");
    assert_eq!(vas(&pick(&mut c, 0, 1)), [P], "rescued line is the newest");
    assert_eq!(c.stats().rescues, 1);
}

#[test]
fn frames_of_a_batch_wait_for_its_confirmation() {
    let mut c = one_set(2, Policy::Fifo);
    fill(&mut c, k(1, 0), true);
    fill(&mut c, k(1, P), false);
    pick(&mut c, 0, 2);
    assert_eq!(
        c.alloc(k(1, 2 * P)),
        Err(Error::Full { set: 0 }),
        "evicting is not free"
    );
    let (t, v) = take(&mut c);
    assert_eq!(
        c.alloc(k(1, 2 * P)),
        Err(Error::Full { set: 0 }),
        "flushing is not free"
    );
    assert_eq!(
        c.lookup(k(1, 0)),
        Lookup::Busy(v[0].slot),
        "not fetched while flushing"
    );
    assert_eq!(
        c.alloc(k(1, 0)),
        Err(Error::Present {
            slot: v[0].slot,
            state: State::Flushing { dirty: true }
        })
    );
    c.victims_flushed(t, slots(&v)).unwrap();
    c.alloc(k(1, 2 * P)).unwrap();
    let st = c.stats();
    assert_eq!(
        (st.evicted_dirty, st.evicted_clean, st.writebacks),
        (1, 1, 1)
    );
    assert_eq!((st.tlb_flushes, st.victim_batches, st.picked), (1, 1, 2));
}

#[test]
fn a_stale_confirmation_cannot_free_a_reused_slot() {
    let mut c = one_set(1, Policy::Fifo);
    let s = fill(&mut c, k(1, 0), false);
    pick(&mut c, 0, 1);
    let (t1, _) = take(&mut c);
    c.victims_flushed(t1, [s]).unwrap();
    fill(&mut c, k(1, P), false);
    pick(&mut c, 0, 1);
    let (t2, _) = take(&mut c);
    assert_ne!(t1, t2);
    assert_eq!(
        c.victims_flushed(t1, [s]),
        Err(Error::WrongTicket {
            slot: s,
            ticket: t2
        })
    );
    assert_eq!(c.state(s), Ok(State::Flushing { dirty: false }));
    c.victims_flushed(t2, [s]).unwrap();
    assert_eq!(
        c.victims_flushed(t2, [s]),
        Err(Error::WrongState {
            slot: s,
            state: State::Free
        }),
        "twice"
    );
}

#[test]
fn a_failed_write_back_keeps_the_line() {
    let mut c = one_set(2, Policy::Fifo);
    let s = fill(&mut c, k(1, 0), true);
    fill(&mut c, k(1, P), false);
    pick(&mut c, 0, 1);
    let (t, _) = take(&mut c);
    c.flush_failed(t, s).unwrap();
    assert_eq!(c.state(s), Ok(State::Dirty));
    assert_eq!(c.lookup(k(1, 0)), Lookup::Hit(s), "the glue maps it again");
    assert_eq!(vas(&pick(&mut c, 0, 1)), [P], "newest of its set");
    assert_eq!(c.stats().failed_writebacks, 1);
}

#[test]
fn reclaim_keeps_the_reserve_counting_picked_victims() {
    let mut c = cache(Config {
        reserve: 2,
        ..Config::new(4, 4)
    });
    fill(&mut c, k(1, 0), false);
    assert_eq!(c.needs_reclaim(0), Ok(0), "3 free");
    fill(&mut c, k(1, P), false);
    fill(&mut c, k(1, 2 * P), false);
    assert_eq!(c.needs_reclaim(0), Ok(1), "1 free");
    pick(&mut c, 0, 1);
    assert_eq!(c.needs_reclaim(0), Ok(0), "1 free + 1 on its way");
    fill(&mut c, k(1, 3 * P), false);
    assert_eq!(c.needs_reclaim(0), Ok(1), "0 free + 1 on its way");
    assert_eq!(c.needs_reclaim(1), Err(Error::BadSet(1)));
}

#[test]
fn reclaim_never_asks_for_more_than_is_valid() {
    let mut c = cache(Config {
        reserve: 3,
        ..Config::new(4, 4)
    });
    for i in 0..4 {
        c.alloc(k(1, i * P)).unwrap();
    }
    assert_eq!(c.needs_reclaim(0), Ok(0), "all filling");
}

#[test]
fn a_flush_is_due_every_flush_batch_victims() {
    let mut c = cache(Config {
        flush_batch: 3,
        ..Config::new(16, 4)
    });
    for i in 0..16 {
        fill(&mut c, k(1, i * P), false);
    }
    let mut n = 0;
    for set in 0..4 {
        n += pick(&mut c, set, 1).len();
        assert_eq!(c.flush_due(), n >= 3);
    }
    let (_, v) = take(&mut c);
    assert_eq!(v.len(), 4, "one flush covers every set's victims");
    assert!(!c.flush_due());
}

// ---------------------------------------------------------------- invalidation

#[test]
fn invalidate_hands_out_the_lines_of_the_range() {
    let mut c = cache(Config::new(32, 4));
    for i in 0..8 {
        fill(&mut c, k(1, i * P), i % 2 == 0);
    }
    fill(&mut c, k(2, 3 * P), true);
    let mut v = Vec::new();
    let t = c.invalidate(1, 2 * P + 100..5 * P, &mut v).unwrap();
    v.sort_by_key(|v| v.key.va);
    assert_eq!(vas(&v), [2 * P, 3 * P, 4 * P]);
    assert_eq!(
        v.iter().map(|v| v.dirty).collect::<Vec<_>>(),
        [true, false, true]
    );
    for x in &v {
        assert_eq!(c.key_of(x.slot), Ok(None), "left the index");
        assert!(
            matches!(c.state(x.slot), Ok(State::Flushing { .. })),
            "frame waits"
        );
    }
    assert_eq!(c.lookup(k(1, 3 * P)), Lookup::Miss);
    assert!(
        matches!(c.lookup(k(2, 3 * P)), Lookup::Hit(_)),
        "other process"
    );
    assert!(
        matches!(c.lookup(k(1, 5 * P)), Lookup::Hit(_)),
        "past the range"
    );
    let again = fill(&mut c, k(1, 3 * P), false);
    assert!(
        v.iter().all(|x| x.slot != again),
        "a fresh slot, not a waiting frame"
    );
    c.victims_flushed(t, slots(&v)).unwrap();
    let st = c.stats();
    assert_eq!(
        (st.invalidated_dirty, st.invalidated_clean, st.writebacks),
        (2, 1, 0)
    );
    c.verify().unwrap();
}

#[test]
fn invalidate_takes_every_line_it_overlaps() {
    let mut c = cache(Config {
        line_pages: 4,
        ..Config::new(8, 2)
    });
    fill(&mut c, k(1, 0), true);
    fill(&mut c, k(1, 4 * P), true);
    let mut v = Vec::new();
    c.invalidate(1, 3 * P..5 * P, &mut v).unwrap();
    assert_eq!(v.len(), 2, "a page of each line");
    assert_eq!(c.invalidate(1, 5 * P..5 * P, &mut v), None, "empty range");
}

#[test]
fn long_and_short_ranges_agree() {
    let mut c = cache(Config::new(64, 4));
    for i in 0..40 {
        fill(&mut c, k(1, i * P), false);
    }
    let mut short = Vec::new();
    c.invalidate(1, 0..4 * P, &mut short).unwrap();
    let mut long = Vec::new();
    c.invalidate(1, 0..u64::MAX, &mut long).unwrap();
    assert_eq!(short.len() + long.len(), 40);
}

#[test]
fn a_fill_of_an_invalidated_line_is_discarded() {
    let mut c = cache(Config::new(4, 4));
    let s = c.alloc(k(1, 0)).unwrap();
    let mut v = Vec::new();
    assert_eq!(c.invalidate(1, 0..P, &mut v), None, "nothing to unmap");
    assert_eq!(c.lookup(k(1, 0)), Lookup::Miss);
    assert_eq!(c.filled(s, Source::Fetched, false), Ok(Filled::Discarded));
    assert_eq!(c.state(s), Ok(State::Free));
    assert_eq!(c.stats().discarded_fills, 1);
}

#[test]
fn an_invalidated_victim_moves_to_the_invalidation_batch() {
    let mut c = one_set(4, Policy::Fifo);
    let s = fill(&mut c, k(1, 0), true);
    pick(&mut c, 0, 1);
    let mut v = Vec::new();
    let t = c.invalidate(1, 0..P, &mut v).unwrap();
    assert_eq!(slots(&v), [s]);
    assert_eq!(c.pending(), 0);
    let mut out = Vec::new();
    assert_eq!(c.take_flush_batch(&mut out), None);
    c.victims_flushed(t, [s]).unwrap();
}

#[test]
fn an_invalidated_line_in_flight_finishes_its_batch() {
    let mut c = one_set(4, Policy::Fifo);
    let s = fill(&mut c, k(1, 0), true);
    pick(&mut c, 0, 1);
    let (t, _) = take(&mut c);
    let mut v = Vec::new();
    assert_eq!(c.invalidate(1, 0..P, &mut v), None);
    assert_eq!(c.lookup(k(1, 0)), Lookup::Miss, "gone from the index");
    assert_eq!(c.flush_failed(t, s), Ok(()), "nothing to keep");
    assert_eq!(c.state(s), Ok(State::Free));
    assert_eq!(c.stats().writebacks, 0);
}

#[test]
fn drop_asid_drops_one_process() {
    let mut c = cache(Config::new(16, 4));
    for i in 0..4 {
        fill(&mut c, k(1, i * P), true);
        fill(&mut c, k(2, i * P), true);
    }
    let mut v = Vec::new();
    let t = c.drop_asid(1, &mut v).unwrap();
    assert_eq!(v.len(), 4);
    assert!(v.iter().all(|v| v.key.asid == 1));
    c.victims_flushed(t, slots(&v)).unwrap();
    assert_eq!(c.stats().dirty, 4);
    assert_eq!(c.drop_asid(1, &mut v), None);
}

// ---------------------------------------------------------------- refusals

#[test]
fn bogus_slots_and_sets_are_errors() {
    let mut c = cache(Config::new(8, 4));
    for s in [Slot(8), Slot(u32::MAX)] {
        let e = Err(Error::BadSlot(s));
        assert_eq!(c.state(s), e.map(|()| State::Free));
        assert_eq!(c.key_of(s), e.map(|()| None));
        assert_eq!(c.slot_set(s), e.map(|()| 0));
        assert_eq!(c.filled(s, Source::Fetched, false), e.map(|()| Filled::Map));
        assert_eq!(c.fill_failed(s), e);
        assert_eq!(c.mark_dirty(s), e);
        assert_eq!(c.touch(s), e);
        assert_eq!(c.flush_failed(Ticket(0), s), e);
        assert_eq!(c.victims_flushed(Ticket(0), [s]), e);
    }
    let mut v = Vec::new();
    assert_eq!(c.pick_victims(2, 1, &mut v), Err(Error::BadSet(2)));
    assert_eq!(c.set_counts(2), Err(Error::BadSet(2)));
    c.verify().unwrap();
}

#[test]
fn calls_in_the_wrong_state_are_errors() {
    let mut c = cache(Config::new(8, 4));
    let free = Slot(7);
    let e = |state| Err(Error::WrongState { slot: free, state });
    assert_eq!(c.mark_dirty(free), e(State::Free));
    assert_eq!(c.touch(free), e(State::Free));
    assert_eq!(c.fill_failed(free), e(State::Free));
    let s = fill(&mut c, k(1, 0), false);
    let e = |state| Err(Error::WrongState { slot: s, state });
    assert_eq!(
        c.filled(s, Source::Fetched, false),
        e(State::Clean).map(|()| Filled::Map)
    );
    assert_eq!(c.flush_failed(Ticket(0), s), e(State::Clean));
    let set = c.slot_set(s).unwrap();
    pick(&mut c, set, 1);
    assert_eq!(c.touch(s), e(State::Evicting { dirty: false }));
    assert_eq!(c.mark_dirty(s), e(State::Evicting { dirty: false }));
    c.verify().unwrap();
}

// ---------------------------------------------------------------- piggyback

#[test]
fn the_first_victim_of_the_miss_owner_rides() {
    let mut p = Plan::new();
    p.compute(&[3u32, 1, 2, 1], Some(1), 1, 16);
    assert_eq!(p.riders(), [1]);
    assert_eq!(
        p.messages,
        [
            Message {
                owner: 1,
                start: 1,
                len: 1
            },
            Message {
                owner: 2,
                start: 2,
                len: 1
            },
            Message {
                owner: 3,
                start: 3,
                len: 1
            },
        ]
    );
    assert_eq!(p.victims(&p.messages[0]), [3]);
}

#[test]
fn nothing_rides_without_a_miss_request() {
    let mut p = Plan::new();
    p.compute(&[1u32, 1], None, 1, 16);
    assert_eq!(p.riders(), [] as [usize; 0], "p-local fill: no request");
    p.compute(&[1u32, 1], Some(1), 0, 16);
    assert_eq!(p.riders(), [] as [usize; 0], "piggyback off");
    p.compute(&[2u32, 2], Some(1), 1, 16);
    assert_eq!(p.riders(), [] as [usize; 0], "other owner");
    assert_eq!(p.messages.len(), 1);
}

#[test]
fn several_riders_when_allowed() {
    let mut p = Plan::new();
    p.compute(&[1u32, 2, 1, 1], Some(1), 2, 16);
    assert_eq!(p.riders(), [0, 2]);
    assert_eq!(p.order, [0, 2, 3, 1]);
}

#[test]
fn the_rest_goes_per_owner_in_chunks() {
    let mut p = Plan::new();
    p.compute(&[2u32, 1, 2, 2, 1, 2], None, 1, 2);
    let groups: Vec<(u32, Vec<usize>)> = p
        .messages
        .iter()
        .map(|m| (m.owner, p.victims(m).to_vec()))
        .collect();
    assert_eq!(groups, [(1, vec![1, 4]), (2, vec![0, 2]), (2, vec![3, 5])]);
    p.compute(&[7u32; 3], None, 1, 0);
    assert_eq!(p.messages.len(), 3, "0 lines per message counts as 1");
    p.compute(&[] as &[u32], Some(1), 1, 4);
    assert!(p.order.is_empty() && p.messages.is_empty());
}

// ---------------------------------------------------------------- the glue

fn sim(cfg: Config, owners: u32) -> Sim {
    Sim::new(SimConfig {
        cache: cfg,
        owners,
        max_riders: 1,
        per_message: 16,
    })
    .unwrap()
}

#[test]
fn one_tlb_flush_covers_a_batch_of_misses() {
    let mut s = sim(
        Config {
            flush_batch: 16,
            ..Config::new(1024, 16)
        },
        1,
    );
    // Stream over 4x the cache, writing: every miss past the first pass evicts.
    for round in 0..2 {
        for i in 0..4096u64 {
            s.access(1, i * P, Some(round * 10_000 + i + 1)).unwrap();
        }
    }
    s.verify().unwrap();
    let st = s.cache.stats();
    let misses = st.fills;
    assert!(st.evicted_dirty > 6000, "{st:?}");
    assert!(
        s.stats.tlb_flushes * 12 < misses,
        "{} TLB flushes for {misses} misses",
        s.stats.tlb_flushes
    );
    assert!(st.rescues == 0 && st.busy == 0);
}

#[test]
fn dirty_victims_ride_on_misses_to_their_owner() {
    let mut s = sim(Config::new(64, 8), 1);
    for i in 0..256u64 {
        s.access(1, i * P, Some(i + 1)).unwrap();
    }
    // Second pass: fetches (the owner has every line), write-backs ride on them.
    for i in 0..256u64 {
        s.access(1, i * P, Some(i + 7)).unwrap();
    }
    let st = s.cache.stats();
    assert!(s.stats.riders > 0);
    assert_eq!(st.piggybacked, s.stats.riders);
    assert!(
        s.stats.riders < s.stats.writebacks,
        "one rider per miss request"
    );
    for i in 0..256u64 {
        assert_eq!(s.access(1, i * P, None).unwrap(), i + 7);
    }
}
