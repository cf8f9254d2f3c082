//! [`Model`]: the ExCache's rules with plain vectors.

use alloc::vec::Vec;
use core::ops::Range;

use crate::config::{Config, ConfigError, Policy};
use crate::policy::{PROBES, Rng};
use crate::setmap::mix64;
use crate::{Error, Filled, Key, Lookup, SetCounts, Slot, Source, State, Stats, Ticket, Victim};

/// One slot of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSlot {
    /// Its state.
    pub state: State,
    /// Its line (process id, line number) while not free.
    pub key: Option<(u32, u64)>,
    /// Invalidated while in flight: not findable any more.
    pub gone: bool,
    /// Its flush ticket while `Flushing`.
    pub ticket: u32,
}

const FREE: ModelSlot = ModelSlot {
    state: State::Free,
    key: None,
    gone: false,
    ticket: 0,
};

/// The cache's rules, the plain way.
#[derive(Clone, Debug)]
pub struct Model {
    config: Config,
    sets: u32,
    shift: u32,
    /// Every slot.
    pub slots: Vec<ModelSlot>,
    /// Per set: free slots, the next to be allocated last.
    pub free: Vec<Vec<u32>>,
    /// Per set: valid lines, oldest first.
    pub order: Vec<Vec<u32>>,
    /// Picked victims waiting for a flush batch, oldest first.
    pub pending: Vec<u32>,
    rng: Rng,
    next_ticket: u32,
    stats: Stats,
}

fn dirty_of(st: State) -> bool {
    matches!(
        st,
        State::Dirty | State::Evicting { dirty: true } | State::Flushing { dirty: true }
    )
}

fn valid(dirty: bool) -> State {
    if dirty { State::Dirty } else { State::Clean }
}

impl Model {
    /// An empty model cache.
    pub fn new(config: Config) -> Result<Model, ConfigError> {
        let (sets, shift) = config.validate()?;
        let ways = config.ways;
        let seed = match config.policy {
            Policy::Random { seed } => seed,
            Policy::Fifo | Policy::Lru => 0,
        };
        Ok(Model {
            config,
            sets,
            shift,
            slots: alloc::vec![FREE; config.slots as usize],
            free: (0..sets)
                .map(|s| (s * ways..(s + 1) * ways).rev().collect())
                .collect(),
            order: alloc::vec![Vec::new(); sets as usize],
            pending: Vec::new(),
            rng: Rng::new(seed),
            next_ticket: 0,
            stats: Stats::default(),
        })
    }

    /// The documented set function, written out again.
    pub fn set_of(&self, key: Key) -> u32 {
        let line = key.va >> self.shift;
        let s = u64::from(self.sets);
        let rot = mix64(
            (line / s).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ u64::from(key.asid).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
        ) % s;
        ((line % s + rot) % s) as u32
    }

    fn find(&self, key: Key) -> Option<u32> {
        let k = Some((key.asid, key.va >> self.shift));
        (0..self.slots.len() as u32).find(|&s| {
            let m = &self.slots[s as usize];
            m.key == k && !m.gone && m.state != State::Free
        })
    }

    fn set_of_slot(&self, s: u32) -> usize {
        (s / self.config.ways) as usize
    }

    fn check(&self, slot: Slot) -> Result<u32, Error> {
        if (slot.0 as usize) < self.slots.len() {
            Ok(slot.0)
        } else {
            Err(Error::BadSlot(slot))
        }
    }

    fn wrong(&self, s: u32) -> Error {
        Error::WrongState {
            slot: Slot(s),
            state: self.slots[s as usize].state,
        }
    }

    fn victim(&self, s: u32) -> Victim {
        let m = self.slots[s as usize];
        let (asid, line) = m.key.unwrap_or_default();
        Victim {
            slot: Slot(s),
            key: Key {
                asid,
                va: line << self.shift,
            },
            dirty: dirty_of(m.state),
        }
    }

    fn release(&mut self, s: u32) {
        self.slots[s as usize] = FREE;
        let set = self.set_of_slot(s);
        self.free[set].push(s);
    }

    fn make_valid(&mut self, s: u32, dirty: bool) {
        self.slots[s as usize].state = valid(dirty);
        let set = self.set_of_slot(s);
        self.order[set].push(s);
    }

    fn unorder(&mut self, s: u32) {
        let set = self.set_of_slot(s);
        self.order[set].retain(|&x| x != s);
    }

    fn ticket(&mut self) -> u32 {
        let t = self.next_ticket;
        self.next_ticket = if t.wrapping_add(1) == u32::MAX {
            0
        } else {
            t.wrapping_add(1)
        };
        self.stats.tlb_flushes += 1;
        t
    }

    /// [`crate::Cache::state`] and [`crate::Cache::key_of`] at once.
    pub fn slot(&self, slot: Slot) -> Result<(State, Option<Key>), Error> {
        let s = self.check(slot)?;
        let m = self.slots[s as usize];
        let key = if m.gone || m.state == State::Free {
            None
        } else {
            m.key.map(|(asid, line)| Key {
                asid,
                va: line << self.shift,
            })
        };
        Ok((m.state, key))
    }

    /// [`crate::Cache::lookup`].
    pub fn lookup(&mut self, key: Key) -> Lookup {
        let Some(s) = self.find(key) else {
            self.stats.misses += 1;
            return Lookup::Miss;
        };
        match self.slots[s as usize].state {
            State::Clean | State::Dirty => {
                self.stats.hits += 1;
                Lookup::Hit(Slot(s))
            }
            State::Evicting { dirty } => {
                self.pending.retain(|&x| x != s);
                self.make_valid(s, dirty);
                self.stats.rescues += 1;
                Lookup::Rescued(Slot(s))
            }
            _ => {
                self.stats.busy += 1;
                Lookup::Busy(Slot(s))
            }
        }
    }

    /// [`crate::Cache::alloc`].
    pub fn alloc(&mut self, key: Key) -> Result<Slot, Error> {
        if let Some(s) = self.find(key) {
            return Err(Error::Present {
                slot: Slot(s),
                state: self.slots[s as usize].state,
            });
        }
        let set = self.set_of(key);
        let s = self.free[set as usize].pop().ok_or(Error::Full { set })?;
        self.slots[s as usize] = ModelSlot {
            state: State::Filling,
            key: Some((key.asid, key.va >> self.shift)),
            gone: false,
            ticket: 0,
        };
        Ok(Slot(s))
    }

    /// [`crate::Cache::filled`].
    pub fn filled(&mut self, slot: Slot, source: Source, dirty: bool) -> Result<Filled, Error> {
        let s = self.check(slot)?;
        if self.slots[s as usize].state != State::Filling {
            return Err(self.wrong(s));
        }
        if self.slots[s as usize].gone {
            self.release(s);
            self.stats.discarded_fills += 1;
            return Ok(Filled::Discarded);
        }
        self.make_valid(s, dirty);
        self.stats.fills += 1;
        if source == Source::Zeroed {
            self.stats.plocal_fills += 1;
        }
        Ok(Filled::Map)
    }

    /// [`crate::Cache::fill_failed`].
    pub fn fill_failed(&mut self, slot: Slot) -> Result<(), Error> {
        let s = self.check(slot)?;
        if self.slots[s as usize].state != State::Filling {
            return Err(self.wrong(s));
        }
        self.release(s);
        self.stats.failed_fills += 1;
        Ok(())
    }

    /// [`crate::Cache::mark_dirty`].
    pub fn mark_dirty(&mut self, slot: Slot) -> Result<(), Error> {
        let s = self.check(slot)?;
        match self.slots[s as usize].state {
            State::Clean | State::Dirty => {
                self.slots[s as usize].state = State::Dirty;
                Ok(())
            }
            _ => Err(self.wrong(s)),
        }
    }

    /// [`crate::Cache::touch`].
    pub fn touch(&mut self, slot: Slot) -> Result<(), Error> {
        let s = self.check(slot)?;
        match self.slots[s as usize].state {
            State::Clean | State::Dirty => {
                if self.config.policy == Policy::Lru {
                    self.unorder(s);
                    let set = self.set_of_slot(s);
                    self.order[set].push(s);
                }
                Ok(())
            }
            _ => Err(self.wrong(s)),
        }
    }

    /// [`crate::Cache::set_counts`].
    pub fn set_counts(&self, set: u32) -> Result<SetCounts, Error> {
        if set >= self.sets {
            return Err(Error::BadSet(set));
        }
        let ways = self.config.ways;
        let slots = &self.slots[(set * ways) as usize..((set + 1) * ways) as usize];
        let count = |f: fn(State) -> bool| slots.iter().filter(|m| f(m.state)).count() as u32;
        Ok(SetCounts {
            free: count(|s| s == State::Free),
            valid: count(|s| matches!(s, State::Clean | State::Dirty)),
            evicting: count(|s| matches!(s, State::Evicting { .. })),
            busy: count(|s| matches!(s, State::Filling | State::Flushing { .. })),
        })
    }

    /// [`crate::Cache::needs_reclaim`].
    pub fn needs_reclaim(&self, set: u32) -> Result<u32, Error> {
        let c = self.set_counts(set)?;
        Ok(self
            .config
            .reserve
            .saturating_sub(c.free + c.evicting)
            .min(c.valid))
    }

    fn choose(&mut self, set: u32) -> Option<u32> {
        let order = &self.order[set as usize];
        if order.is_empty() {
            return None;
        }
        if let Policy::Random { .. } = self.config.policy {
            let ways = self.config.ways;
            for _ in 0..PROBES {
                let s = set * ways + (self.rng.next_u64() % u64::from(ways)) as u32;
                if matches!(self.slots[s as usize].state, State::Clean | State::Dirty) {
                    return Some(s);
                }
            }
        }
        Some(self.order[set as usize][0])
    }

    /// [`crate::Cache::pick_victims`].
    pub fn pick_victims(&mut self, set: u32, n: u32, out: &mut Vec<Victim>) -> Result<u32, Error> {
        if set >= self.sets {
            return Err(Error::BadSet(set));
        }
        let mut k = 0;
        while k < n {
            let Some(s) = self.choose(set) else { break };
            self.unorder(s);
            let dirty = dirty_of(self.slots[s as usize].state);
            self.slots[s as usize].state = State::Evicting { dirty };
            self.pending.push(s);
            out.push(self.victim(s));
            k += 1;
        }
        if k > 0 {
            self.stats.victim_batches += 1;
            self.stats.picked += u64::from(k);
        }
        Ok(k)
    }

    /// [`crate::Cache::pending`].
    pub fn pending_len(&self) -> u32 {
        self.pending.len() as u32
    }

    /// [`crate::Cache::flush_due`].
    pub fn flush_due(&self) -> bool {
        self.pending_len() >= self.config.flush_batch
    }

    /// [`crate::Cache::take_flush_batch`].
    pub fn take_flush_batch(&mut self, out: &mut Vec<Victim>) -> Option<Ticket> {
        if self.pending.is_empty() {
            return None;
        }
        let t = self.ticket();
        for s in core::mem::take(&mut self.pending) {
            let v = self.victim(s);
            let m = &mut self.slots[s as usize];
            m.state = State::Flushing { dirty: v.dirty };
            m.ticket = t;
            if v.dirty {
                self.stats.evicted_dirty += 1;
            } else {
                self.stats.evicted_clean += 1;
            }
            out.push(v);
        }
        Some(Ticket(t))
    }

    fn flushing(&self, ticket: Ticket, slot: Slot) -> Result<u32, Error> {
        let s = self.check(slot)?;
        let m = self.slots[s as usize];
        match m.state {
            State::Flushing { .. } if m.ticket == ticket.0 => Ok(s),
            State::Flushing { .. } => Err(Error::WrongTicket {
                slot,
                ticket: Ticket(m.ticket),
            }),
            _ => Err(self.wrong(s)),
        }
    }

    /// [`crate::Cache::victims_flushed`].
    pub fn victims_flushed(
        &mut self,
        ticket: Ticket,
        slots: impl IntoIterator<Item = Slot>,
    ) -> Result<(), Error> {
        let mut first = Ok(());
        for slot in slots {
            match self.flushing(ticket, slot) {
                Ok(s) => {
                    let m = self.slots[s as usize];
                    if dirty_of(m.state) && !m.gone {
                        self.stats.writebacks += 1;
                    }
                    self.release(s);
                }
                Err(e) => {
                    if first.is_ok() {
                        first = Err(e);
                    }
                }
            }
        }
        first
    }

    /// [`crate::Cache::flush_failed`].
    pub fn flush_failed(&mut self, ticket: Ticket, slot: Slot) -> Result<(), Error> {
        let s = self.flushing(ticket, slot)?;
        let m = self.slots[s as usize];
        let dirty = dirty_of(m.state);
        if dirty {
            self.stats.failed_writebacks += 1;
        }
        if m.gone {
            self.release(s);
        } else {
            self.slots[s as usize].ticket = 0;
            self.make_valid(s, dirty);
        }
        Ok(())
    }

    /// [`crate::Cache::invalidate`] (victims in slot order).
    pub fn invalidate(
        &mut self,
        asid: u32,
        va: Range<u64>,
        out: &mut Vec<Victim>,
    ) -> Option<Ticket> {
        if va.start >= va.end {
            return None;
        }
        let lines = (va.start >> self.shift)..=((va.end - 1) >> self.shift);
        self.invalidate_where(out, |m| {
            m.key.is_some_and(|(a, l)| a == asid && lines.contains(&l))
        })
    }

    /// [`crate::Cache::drop_asid`] (victims in slot order).
    pub fn drop_asid(&mut self, asid: u32, out: &mut Vec<Victim>) -> Option<Ticket> {
        self.invalidate_where(out, |m| m.key.is_some_and(|(a, _)| a == asid))
    }

    fn invalidate_where(
        &mut self,
        out: &mut Vec<Victim>,
        matches: impl Fn(&ModelSlot) -> bool,
    ) -> Option<Ticket> {
        let mut ticket = None;
        for s in 0..self.slots.len() as u32 {
            let m = self.slots[s as usize];
            if m.gone || m.state == State::Free || !matches(&m) {
                continue;
            }
            match m.state {
                State::Clean | State::Dirty | State::Evicting { .. } => {
                    let t = match ticket {
                        Some(t) => t,
                        None => *ticket.insert(self.ticket()),
                    };
                    let v = self.victim(s);
                    self.unorder(s);
                    self.pending.retain(|&x| x != s);
                    let m = &mut self.slots[s as usize];
                    m.state = State::Flushing { dirty: v.dirty };
                    m.ticket = t;
                    m.gone = true;
                    if v.dirty {
                        self.stats.invalidated_dirty += 1;
                    } else {
                        self.stats.invalidated_clean += 1;
                    }
                    out.push(v);
                }
                _ => self.slots[s as usize].gone = true,
            }
        }
        ticket.map(Ticket)
    }

    /// [`crate::Cache::note_piggybacked`].
    pub fn note_piggybacked(&mut self, n: u64) {
        self.stats.piggybacked = self.stats.piggybacked.saturating_add(n);
    }

    /// [`crate::Cache::stats`].
    pub fn stats(&self) -> Stats {
        let count = |f: fn(State) -> bool| self.slots.iter().filter(|m| f(m.state)).count() as u32;
        Stats {
            free: count(|s| s == State::Free),
            filling: count(|s| s == State::Filling),
            clean: count(|s| s == State::Clean),
            dirty: count(|s| s == State::Dirty),
            evicting: count(|s| matches!(s, State::Evicting { .. })),
            flushing: count(|s| matches!(s, State::Flushing { .. })),
            ..self.stats
        }
    }
}
