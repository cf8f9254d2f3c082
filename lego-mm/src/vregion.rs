//! vRegions: the user address space cut into 1 GiB pieces, each owned by one mComponent.
//!
//! The home mComponent keeps a process's vRegion array: which mComponent owns each active
//! vRegion (one with something mapped in it). A new mapping first makes its vRegions active,
//! asking a [`Placer`] (the global memory manager's policy, or one of the provided ones) for
//! an owner of each; the owner then holds the vma tree and the pages of its part. The
//! pComponent caches the array to send each miss and flush straight to the owner.
//!
//! The array is sparse: 128 TiB of user space is 131072 vRegions, a process uses a handful.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Range;

use crate::layout::USER_SPACE;
use crate::{Error, VmaTree};

/// Bytes in a vRegion.
pub const VREGION_SIZE: u64 = 1 << 30;
/// vRegions in the user half (128 TiB / 1 GiB).
pub const VREGION_COUNT: u32 = (USER_SPACE / VREGION_SIZE) as u32;

/// An mComponent's id, as the cluster names it.
pub type MemId = u32;

/// The vRegion index of `va` (`None` outside the user half).
pub fn index_of(va: u64) -> Option<u32> {
    (va < USER_SPACE).then_some((va / VREGION_SIZE) as u32)
}

/// The addresses of vRegion `index`.
pub fn range_of(index: u32) -> Range<u64> {
    let start = u64::from(index) * VREGION_SIZE;
    start..start + VREGION_SIZE
}

/// The vRegions `range` touches (empty for an empty range); `None` if it leaves the user half.
fn indices(range: &Range<u64>) -> Option<Range<u32>> {
    if range.start >= range.end {
        return Some(0..0);
    }
    if range.end > USER_SPACE {
        return None;
    }
    let first = (range.start / VREGION_SIZE) as u32;
    let last = ((range.end - 1) / VREGION_SIZE) as u32;
    Some(first..last + 1)
}

/// A placement policy: picks the owner of a vRegion being activated.
pub trait Placer {
    /// The owner for vRegion `index`, where `bytes` are about to be mapped; `None` if no
    /// mComponent can take it.
    fn place(&mut self, index: u32, bytes: u64) -> Option<MemId>;
}

/// Round-robin over a candidate list, LegoOS's default family (its GMM's default weighs the
/// rounds by network traffic; the plain round is the base case).
#[derive(Clone, Debug)]
pub struct RoundRobin {
    candidates: Vec<MemId>,
    next: usize,
}

impl RoundRobin {
    /// Rounds over `candidates`, starting with the first.
    pub fn new(candidates: Vec<MemId>) -> RoundRobin {
        RoundRobin {
            candidates,
            next: 0,
        }
    }
}

impl Placer for RoundRobin {
    fn place(&mut self, _index: u32, _bytes: u64) -> Option<MemId> {
        let m = *self
            .candidates
            .get(self.next % self.candidates.len().max(1))?;
        self.next = (self.next + 1) % self.candidates.len();
        Some(m)
    }
}

/// The candidate with the most free bytes among those with at least `bytes` free; what it
/// is given is subtracted from its free bytes, so consecutive placements spread.
#[derive(Clone, Debug)]
pub struct LeastLoaded {
    free: Vec<(MemId, u64)>,
}

impl LeastLoaded {
    /// Candidates with their free bytes.
    pub fn new(free: Vec<(MemId, u64)>) -> LeastLoaded {
        LeastLoaded { free }
    }

    /// The candidates' free bytes now.
    pub fn free(&self) -> &[(MemId, u64)] {
        &self.free
    }
}

impl Placer for LeastLoaded {
    fn place(&mut self, _index: u32, bytes: u64) -> Option<MemId> {
        let mut best: Option<&mut (MemId, u64)> = None;
        for c in self.free.iter_mut().filter(|c| c.1 >= bytes) {
            if best.as_ref().is_none_or(|b| c.1 > b.1) {
                best = Some(c);
            }
        }
        let b = best?;
        b.1 -= bytes;
        Some(b.0)
    }
}

/// Every vRegion to one mComponent (a one-mComponent cluster, or the home itself).
#[derive(Clone, Copy, Debug)]
pub struct Single(pub MemId);

impl Placer for Single {
    fn place(&mut self, _index: u32, _bytes: u64) -> Option<MemId> {
        Some(self.0)
    }
}

/// A process's vRegion array. See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VRegions {
    owners: BTreeMap<u32, MemId>,
}

impl VRegions {
    /// No active vRegion.
    pub fn new() -> VRegions {
        VRegions::default()
    }

    /// The owner of the vRegion holding `va`.
    pub fn owner(&self, va: u64) -> Option<MemId> {
        self.owners.get(&index_of(va)?).copied()
    }

    /// The owner of vRegion `index`.
    pub fn owner_of(&self, index: u32) -> Option<MemId> {
        self.owners.get(&index).copied()
    }

    /// Number of active vRegions.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// Whether no vRegion is active.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// Active vRegions `(index, owner)` in address order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u32, MemId)> + '_ {
        self.owners.iter().map(|(&i, &m)| (i, m))
    }

    /// The vRegions `owner` owns, in address order (to free a process's memory there at
    /// exit, or for statistics).
    pub fn owned_by(&self, owner: MemId) -> impl Iterator<Item = u32> + '_ {
        self.iter()
            .filter(move |&(_, m)| m == owner)
            .map(|(i, _)| i)
    }

    /// `(owner, number of vRegions)` for every owner, by owner id.
    pub fn per_owner(&self) -> BTreeMap<MemId, u32> {
        let mut counts = BTreeMap::new();
        for &m in self.owners.values() {
            *counts.entry(m).or_insert(0) += 1;
        }
        counts
    }

    /// Makes every vRegion that `range` touches active, asking `placer` for the owner of each
    /// that is not (with the bytes of `range` inside it). Returns the newly assigned
    /// `(index, owner)`, which the home tells the owners and the pComponent about. All or
    /// nothing: [`Error::NoOwner`] if the placer has none for one of them,
    /// [`Error::InvalidRange`] if `range` leaves the user half.
    pub fn ensure_owned<P: Placer + ?Sized>(
        &mut self,
        range: Range<u64>,
        placer: &mut P,
    ) -> Result<Vec<(u32, MemId)>, Error> {
        let idx = indices(&range).ok_or(Error::InvalidRange)?;
        let mut added = Vec::new();
        for i in idx {
            if self.owners.contains_key(&i) {
                continue;
            }
            let r = range_of(i);
            let bytes = range.end.min(r.end) - range.start.max(r.start);
            match placer.place(i, bytes) {
                Some(m) => {
                    self.owners.insert(i, m);
                    added.push((i, m));
                }
                None => {
                    for (i, _) in added {
                        self.owners.remove(&i);
                    }
                    return Err(Error::NoOwner);
                }
            }
        }
        Ok(added)
    }

    /// Deactivates the vRegions touched by `range` in which `tree` maps nothing any more
    /// (after a `munmap` or a shrink), returning them so their owners drop their part.
    pub fn release_unused(&mut self, range: Range<u64>, tree: &VmaTree) -> Vec<(u32, MemId)> {
        let Some(idx) = indices(&Range {
            start: range.start,
            end: range.end.min(USER_SPACE),
        }) else {
            return Vec::new();
        };
        let unused: Vec<(u32, MemId)> = self
            .owners
            .range(idx)
            .filter(|&(&i, _)| {
                let r = range_of(i);
                tree.intersecting(r.start, r.end).next().is_none()
            })
            .map(|(&i, &m)| (i, m))
            .collect();
        for (i, _) in &unused {
            self.owners.remove(i);
        }
        unused
    }

    /// Deactivates everything (process exit), returning what was active.
    pub fn release_all(&mut self) -> Vec<(u32, MemId)> {
        let all = self.iter().collect();
        self.owners.clear();
        all
    }
}
