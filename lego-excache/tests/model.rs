//! Random call sequences on the cache and on the plain model ([`Model`]), for every policy:
//! every answer (lookups, allocations, victim choices, batches, errors), every slot's state
//! and line, every set's counts and the counters must agree after every call, and the
//! invariants hold: a line is in at most one slot, alloc only hands out free slots, lookup
//! never hands out a line being evicted or flushed as valid, every line sits in the set of
//! the documented function, and the state counts add up to the slots. Slot numbers and
//! tickets include bogus and stale ones.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use lego_excache::testing::Model;
use lego_excache::{
    Cache, Config, Key, Lookup, Policy, Slot, Source, State, Stats, Ticket, Victim,
};
use proptest::prelude::*;

#[derive(Clone, Copy, Debug)]
enum SlotRef {
    /// Any number, bogus ones included.
    Raw(u32),
    /// One of the slots the cache returned lately.
    Recent(usize),
}

#[derive(Clone, Debug)]
enum Op {
    Lookup(u32, u64, u64),
    Alloc(u32, u64, u64),
    /// Lookup, and alloc on a miss (the fault path).
    Fault(u32, u64),
    Filled(SlotRef, bool, bool),
    FillFailed(SlotRef),
    MarkDirty(SlotRef),
    Touch(SlotRef),
    Pick(u32, u32),
    Reclaim(u32),
    Take,
    /// Confirms the victims of a recent batch selected by the mask (with its own ticket, or
    /// with the ticket of another batch).
    Flushed(usize, u64, bool),
    FlushFailed(usize, usize),
    Invalidate(u32, u64, u64),
    DropAsid(u32),
}

const LINES: u64 = 12;

fn slot_ref() -> impl Strategy<Value = SlotRef> {
    prop_oneof![
        1 => (0..40u32).prop_map(SlotRef::Raw),
        1 => Just(SlotRef::Raw(u32::MAX)),
        6 => (0..8usize).prop_map(SlotRef::Recent),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let asid = 0..3u32;
    let line = 0..LINES;
    prop_oneof![
        6 => (asid.clone(), line.clone(), any::<u64>()).prop_map(|(a, l, o)| Op::Lookup(a, l, o)),
        3 => (asid.clone(), line.clone(), any::<u64>()).prop_map(|(a, l, o)| Op::Alloc(a, l, o)),
        8 => (asid.clone(), line.clone()).prop_map(|(a, l)| Op::Fault(a, l)),
        8 => (slot_ref(), any::<bool>(), any::<bool>()).prop_map(|(s, z, d)| Op::Filled(s, z, d)),
        1 => slot_ref().prop_map(Op::FillFailed),
        3 => slot_ref().prop_map(Op::MarkDirty),
        4 => slot_ref().prop_map(Op::Touch),
        3 => (0..10u32, 0..5u32).prop_map(|(s, n)| Op::Pick(s, n)),
        3 => (0..10u32).prop_map(Op::Reclaim),
        3 => Just(Op::Take),
        4 => (0..3usize, any::<u64>(), prop::bool::weighted(0.9)).prop_map(|(b, m, t)| Op::Flushed(b, m, t)),
        1 => (0..3usize, 0..8usize).prop_map(|(b, i)| Op::FlushFailed(b, i)),
        2 => (asid.clone(), line, 0..20u64).prop_map(|(a, l, n)| Op::Invalidate(a, l, n)),
        1 => asid.prop_map(Op::DropAsid),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (
        prop_oneof![Just(1u32), Just(2), Just(3), Just(4), Just(8)],
        1..=5u32,
        prop_oneof![Just(1u32), Just(2), Just(8), Just(512)],
        prop_oneof![
            Just(Policy::Fifo),
            Just(Policy::Lru),
            any::<u64>().prop_map(|seed| Policy::Random { seed }),
        ],
        0..8u32,
        1..5u32,
    )
        .prop_map(
            |(ways, sets, line_pages, policy, reserve, flush_batch)| Config {
                slots: ways * sets,
                ways,
                line_pages,
                policy,
                reserve: reserve % ways,
                flush_batch,
            },
        )
}

struct Run {
    cache: Cache,
    model: Model,
    line_bytes: u64,
    recent: Vec<Slot>,
    batches: Vec<(Ticket, Vec<Victim>)>,
}

impl Run {
    fn key(&self, asid: u32, line: u64, off: u64) -> Key {
        Key {
            asid,
            va: line * self.line_bytes + off % self.line_bytes,
        }
    }

    fn slot(&self, r: SlotRef) -> Slot {
        match r {
            SlotRef::Raw(s) => Slot(s),
            SlotRef::Recent(i) if !self.recent.is_empty() => {
                self.recent[self.recent.len() - 1 - i % self.recent.len()]
            }
            SlotRef::Recent(_) => Slot(0),
        }
    }

    fn remember(&mut self, s: Slot) {
        self.recent.push(s);
        if self.recent.len() > 8 {
            self.recent.remove(0);
        }
    }

    fn batch(&mut self, t: Option<Ticket>, v: Vec<Victim>) {
        if let Some(t) = t {
            self.batches.push((t, v));
            if self.batches.len() > 3 {
                self.batches.remove(0);
            }
        }
    }

    fn set(&self, s: u32) -> u32 {
        s % (self.cache.sets() + 1)
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let (c, m) = (&mut self.cache, &mut self.model);
        match *op {
            Op::Lookup(a, l, o) => {
                let k = self.key(a, l, o);
                let (got, want) = (self.cache.lookup(k), self.model.lookup(k));
                prop_assert_eq!(got, want);
                self.check_lookup(got)?;
            }
            Op::Alloc(a, l, o) => {
                let k = self.key(a, l, o);
                self.alloc(k)?;
            }
            Op::Fault(a, l) => {
                let k = self.key(a, l, 0);
                let got = self.cache.lookup(k);
                prop_assert_eq!(got, self.model.lookup(k));
                self.check_lookup(got)?;
                if got == Lookup::Miss {
                    self.alloc(k)?;
                }
            }
            Op::Filled(r, zero, dirty) => {
                let s = self.slot(r);
                let src = if zero {
                    Source::Zeroed
                } else {
                    Source::Fetched
                };
                let (c, m) = (&mut self.cache, &mut self.model);
                prop_assert_eq!(c.filled(s, src, dirty), m.filled(s, src, dirty));
            }
            Op::FillFailed(r) => {
                let s = self.slot(r);
                let (c, m) = (&mut self.cache, &mut self.model);
                prop_assert_eq!(c.fill_failed(s), m.fill_failed(s));
            }
            Op::MarkDirty(r) => {
                let s = self.slot(r);
                let (c, m) = (&mut self.cache, &mut self.model);
                prop_assert_eq!(c.mark_dirty(s), m.mark_dirty(s));
            }
            Op::Touch(r) => {
                let s = self.slot(r);
                let (c, m) = (&mut self.cache, &mut self.model);
                prop_assert_eq!(c.touch(s), m.touch(s));
            }
            Op::Pick(set, n) => {
                let set = self.set(set);
                self.pick(set, n)?;
            }
            Op::Reclaim(set) => {
                let set = self.set(set);
                let n = self.cache.needs_reclaim(set);
                prop_assert_eq!(n, self.model.needs_reclaim(set));
                if let Ok(n) = n {
                    self.pick(set, n)?;
                    prop_assert_eq!(self.cache.needs_reclaim(set), Ok(0));
                }
            }
            Op::Take => {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let t = c.take_flush_batch(&mut a);
                prop_assert_eq!(t, m.take_flush_batch(&mut b));
                prop_assert_eq!(&a, &b);
                for v in &a {
                    let st = c.state(v.slot);
                    prop_assert!(matches!(st, Ok(State::Flushing { .. })), "{:?}", st);
                }
                self.batch(t, a);
            }
            Op::Flushed(b, mask, own) => {
                if self.batches.is_empty() {
                    return Ok(());
                }
                let i = b % self.batches.len();
                let t = if own {
                    self.batches[i].0
                } else {
                    self.batches[(i + 1) % self.batches.len()].0
                };
                let slots: Vec<Slot> = self.batches[i]
                    .1
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| mask >> (k % 64) & 1 == 1)
                    .map(|(_, v)| v.slot)
                    .collect();
                let (c, m) = (&mut self.cache, &mut self.model);
                prop_assert_eq!(
                    c.victims_flushed(t, slots.clone()),
                    m.victims_flushed(t, slots)
                );
            }
            Op::FlushFailed(b, k) => {
                if self.batches.is_empty() {
                    return Ok(());
                }
                let (t, v) = &self.batches[b % self.batches.len()];
                let s = v.get(k).map_or(Slot(k as u32), |v| v.slot);
                prop_assert_eq!(c.flush_failed(*t, s), m.flush_failed(*t, s));
            }
            Op::Invalidate(a, l, n) => {
                let lb = self.line_bytes;
                let start = l * lb + lb / 3;
                let range = start..start + n * lb / 2;
                let (mut x, mut y) = (Vec::new(), Vec::new());
                let t = c.invalidate(a, range.clone(), &mut x);
                prop_assert_eq!(t, m.invalidate(a, range, &mut y));
                x.sort_by_key(|v| v.slot);
                prop_assert_eq!(&x, &y);
                self.batch(t, x);
            }
            Op::DropAsid(a) => {
                let (mut x, mut y) = (Vec::new(), Vec::new());
                let t = c.drop_asid(a, &mut x);
                prop_assert_eq!(t, m.drop_asid(a, &mut y));
                prop_assert_eq!(&x, &y);
                for v in &x {
                    prop_assert_eq!(c.key_of(v.slot), Ok(None));
                }
                self.batch(t, x);
            }
        }
        Ok(())
    }

    fn alloc(&mut self, k: Key) -> Result<(), TestCaseError> {
        let got = self.cache.alloc(k);
        prop_assert_eq!(got, self.model.alloc(k));
        if let Ok(s) = got {
            prop_assert_eq!(self.cache.state(s), Ok(State::Filling));
            prop_assert_eq!(self.cache.slot_set(s), Ok(self.model.set_of(k)));
            self.remember(s);
        }
        Ok(())
    }

    fn pick(&mut self, set: u32, n: u32) -> Result<(), TestCaseError> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let got = self.cache.pick_victims(set, n, &mut a);
        prop_assert_eq!(got, self.model.pick_victims(set, n, &mut b));
        prop_assert_eq!(&a, &b, "victim choice");
        for v in &a {
            let st = self.cache.state(v.slot);
            prop_assert!(matches!(st, Ok(State::Evicting { .. })), "{:?}", st);
            self.remember(v.slot);
        }
        Ok(())
    }

    fn check_lookup(&mut self, l: Lookup) -> Result<(), TestCaseError> {
        match l {
            Lookup::Hit(s) | Lookup::Rescued(s) => {
                let st = self.cache.state(s).unwrap();
                prop_assert!(matches!(st, State::Clean | State::Dirty), "{:?}", st);
                self.remember(s);
            }
            Lookup::Busy(s) => {
                let st = self.cache.state(s).unwrap();
                prop_assert!(
                    matches!(st, State::Filling | State::Flushing { .. }),
                    "{:?}",
                    st
                );
                self.remember(s);
            }
            Lookup::Miss => {}
        }
        Ok(())
    }

    fn compare(&self) -> Result<(), TestCaseError> {
        let (c, m) = (&self.cache, &self.model);
        if let Err(e) = c.verify() {
            return Err(TestCaseError::fail(e));
        }
        let s: Stats = c.stats();
        prop_assert_eq!(s, m.stats());
        prop_assert_eq!(
            s.free + s.filling + s.clean + s.dirty + s.evicting + s.flushing,
            c.config().slots
        );
        prop_assert_eq!(c.pending(), m.pending_len());
        prop_assert_eq!(c.flush_due(), m.flush_due());
        let mut keys = std::collections::HashSet::new();
        for i in 0..c.config().slots + 2 {
            let slot = Slot(i);
            let got = c.state(slot).and_then(|st| Ok((st, c.key_of(slot)?)));
            prop_assert_eq!(got, m.slot(slot), "slot {}", i);
            if let Ok((_, Some(k))) = got {
                prop_assert!(keys.insert(k), "{:?} in two slots", k);
                prop_assert_eq!(i / c.config().ways, m.set_of(k), "set of {:?}", k);
                prop_assert_eq!(c.peek(k).map(|p| p.0), Some(slot));
            }
        }
        for set in 0..=c.sets() {
            prop_assert_eq!(c.set_counts(set), m.set_counts(set));
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(800))]

    #[test]
    fn cache_matches_the_model(cfg in config(), ops in prop::collection::vec(op(), 1..150)) {
        let mut run = Run {
            cache: Cache::new(cfg).unwrap(),
            model: Model::new(cfg).unwrap(),
            line_bytes: u64::from(cfg.line_pages) * 4096,
            recent: Vec::new(),
            batches: Vec::new(),
        };
        for op in &ops {
            run.apply(op)?;
            run.compare()?;
        }
    }
}
