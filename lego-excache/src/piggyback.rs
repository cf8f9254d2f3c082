//! Which dirty victims ride on a miss request, and how the others are grouped into flush
//! messages: a pure function of the victims' owners and the miss's owner.
//!
//! LegoOS embeds a dirty victim's write-back in the miss request when both go to the same
//! mComponent, saving a round trip; with several mComponents that chance shrinks (the paper
//! measured up to 6 % lost). With batched eviction a miss has a whole batch of dirty
//! victims to choose from, so it is worth picking one whose owner is the miss's owner instead
//! of looking only at "the" victim. Rules ([`Plan::compute`]):
//! 1. Riders: the first `max_riders` victims (in the caller's order) owned by the miss's owner.
//!    None when there is no miss request (a p-local fill, or a flush outside a miss) or when
//!    `max_riders` is 0.
//! 2. The others are grouped by owner (owners ascending, the caller's order within an owner)
//!    into messages of at most `per_message` lines (0 counts as 1): one request per owner and
//!    chunk, all of which the glue can send before waiting for any reply.

use alloc::vec::Vec;

/// One flush message: victims `plan.order[start..start + len]`, all owned by `owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<O> {
    /// Their owner.
    pub owner: O,
    /// First index into [`Plan::order`].
    pub start: usize,
    /// Number of victims.
    pub len: usize,
}

/// A write-back plan; reusable (its vectors keep their capacity).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan<O> {
    /// Indices into the caller's victims: the riders first, then the messages' victims.
    pub order: Vec<usize>,
    /// How many of `order` ride on the miss request.
    pub riders: usize,
    /// The flush messages.
    pub messages: Vec<Message<O>>,
}

impl<O: Ord + Copy> Plan<O> {
    /// An empty plan.
    pub const fn new() -> Plan<O> {
        Plan {
            order: Vec::new(),
            riders: 0,
            messages: Vec::new(),
        }
    }

    /// Plans the write-back of dirty victims owned by `owners` (one entry per victim), for a
    /// miss request to `miss_owner` (`None`: no request to ride on). See the module
    /// documentation for the rules.
    pub fn compute(
        &mut self,
        owners: &[O],
        miss_owner: Option<O>,
        max_riders: usize,
        per_message: usize,
    ) {
        self.order.clear();
        self.messages.clear();
        // Riders first (in the caller's order), then everything else by (owner, index): the
        // keys are distinct, so the unstable sort (which does not allocate) is deterministic.
        let max = if miss_owner.is_some() { max_riders } else { 0 };
        let mut seen = 0;
        let rides = |o: O, seen: &mut usize| {
            let r = Some(o) == miss_owner && *seen < max;
            *seen += usize::from(r);
            r
        };
        self.order.extend(
            owners
                .iter()
                .enumerate()
                .filter(|&(_, &o)| rides(o, &mut seen))
                .map(|(i, _)| i),
        );
        self.riders = self.order.len();
        seen = 0;
        self.order.extend(
            owners
                .iter()
                .enumerate()
                .filter(|&(_, &o)| !rides(o, &mut seen))
                .map(|(i, _)| i),
        );
        let rest = &mut self.order[self.riders..];
        rest.sort_unstable_by_key(|&i| (owners[i], i));
        let per = per_message.max(1);
        let mut start = self.riders;
        while start < self.order.len() {
            let owner = owners[self.order[start]];
            let mut end = start + 1;
            while end < self.order.len() && end - start < per && owners[self.order[end]] == owner {
                end += 1;
            }
            self.messages.push(Message {
                owner,
                start,
                len: end - start,
            });
            start = end;
        }
    }

    /// The riders: indices into the caller's victims.
    pub fn riders(&self) -> &[usize] {
        &self.order[..self.riders]
    }

    /// The victims of message `m`: indices into the caller's victims.
    pub fn victims(&self, m: &Message<O>) -> &[usize] {
        self.order.get(m.start..m.start + m.len).unwrap_or(&[])
    }
}
