//! The global managers (LegoOS §4.6): coarse placement from approximate load, reported by the
//! monitors every 100 ms.
//!
//! - GPM, the process manager, places a new process on the pComponent with the fewest threads.
//! - GMM, the memory manager, places a new vRegion (1 GiB) on the mComponent with the least load
//!   among those with a vRegion of free memory.
//! - GSM, the storage manager, places a vNode's storage on the sComponent holding the fewest
//!   vNodes, and its buffer cache on the mComponent caching the fewest.
//!
//! Only components that are ready (reporting) are candidates; ties go to the lowest id, so
//! placement is deterministic.

/// Bytes of a vRegion.
pub const VREGION_BYTES: u64 = 1 << 30;

/// What the managers know of one component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Fabric id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Role name.
    pub role: String,
    /// Whether it is ready (reporting).
    pub ready: bool,
    /// User threads (pComponents).
    pub threads: u32,
    /// Free memory (mComponents).
    pub mem_free: u64,
    /// Requests served since boot: a measure of load.
    pub served: u64,
    /// vNodes whose storage (sComponents) or buffer cache (mComponents) it holds.
    pub vnodes: u32,
}

fn pick<'a>(
    cands: &'a [Candidate],
    role: &str,
    key: impl Fn(&Candidate) -> Option<u64>,
) -> Option<&'a Candidate> {
    cands
        .iter()
        .filter(|c| c.ready && c.role == role)
        .filter_map(|c| key(c).map(|k| (k, c)))
        .min_by_key(|&(k, c)| (k, c.id))
        .map(|(_, c)| c)
}

/// GPM: where the next process goes.
pub fn gpm(cands: &[Candidate]) -> Option<&Candidate> {
    pick(cands, "pmon", |c| Some(u64::from(c.threads)))
}

/// GMM: where the next vRegion goes.
pub fn gmm(cands: &[Candidate]) -> Option<&Candidate> {
    pick(cands, "mmon", |c| {
        (c.mem_free >= VREGION_BYTES).then_some(c.served)
    })
}

/// GSM: where the next vNode's storage goes.
pub fn gsm(cands: &[Candidate]) -> Option<&Candidate> {
    pick(cands, "smon", |c| Some(u64::from(c.vnodes)))
}

/// GSM: which mComponent caches the next vNode's files.
pub fn cache_home(cands: &[Candidate]) -> Option<&Candidate> {
    pick(cands, "mmon", |c| Some(u64::from(c.vnodes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: u32, role: &str, ready: bool) -> Candidate {
        Candidate {
            id,
            name: format!("{role}{id}"),
            role: role.into(),
            ready,
            threads: 0,
            mem_free: 2 << 30,
            served: 0,
            vnodes: 0,
        }
    }

    #[test]
    fn gpm_takes_the_fewest_threads_among_ready() {
        let mut v = vec![c(0, "pmon", true), c(1, "pmon", true), c(2, "pmon", false)];
        v[0].threads = 5;
        v[1].threads = 2;
        assert_eq!(gpm(&v).map(|c| c.id), Some(1));
        v[1].ready = false;
        assert_eq!(gpm(&v).map(|c| c.id), Some(0));
        v[0].ready = false;
        assert_eq!(gpm(&v), None);
    }

    #[test]
    fn gmm_needs_a_free_vregion_then_takes_the_least_loaded() {
        let mut v = vec![c(3, "mmon", true), c(4, "mmon", true), c(5, "mmon", true)];
        v[0].served = 10;
        v[1].served = 1;
        v[1].mem_free = VREGION_BYTES - 1;
        v[2].served = 5;
        assert_eq!(gmm(&v).map(|c| c.id), Some(5));
        for x in &mut v {
            x.mem_free = 0;
        }
        assert_eq!(gmm(&v), None);
    }

    #[test]
    fn gsm_spreads_vnodes_and_breaks_ties_by_id() {
        let mut v = vec![c(7, "smon", true), c(6, "smon", true)];
        assert_eq!(gsm(&v).map(|c| c.id), Some(6));
        v[1].vnodes = 1;
        assert_eq!(gsm(&v).map(|c| c.id), Some(7));
    }

    #[test]
    fn caches_spread_over_ready_mcomponents() {
        let mut v = vec![c(1, "mmon", true), c(2, "mmon", false), c(3, "mmon", true)];
        assert_eq!(cache_home(&v).map(|c| c.id), Some(1));
        v[0].vnodes = 2;
        assert_eq!(cache_home(&v).map(|c| c.id), Some(3));
        v[2].ready = false;
        v[0].ready = false;
        assert_eq!(cache_home(&v), None);
    }
}
