//! One test per rule of the vRegion array, the page index, the touched set, the
//! pComponent's miss decision and the raw syscall decoding; property tests of the page
//! index and the touched set against plain maps.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use lego_mm::fault::{Action, resolve};
use lego_mm::layout::{STACK_RLIMIT, USER_SPACE};
use lego_mm::linux;
use lego_mm::pages::{Frame, MAX_PID};
use lego_mm::testing::MemPool;
use lego_mm::vregion::{
    LeastLoaded, RoundRobin, Single, VREGION_COUNT, VREGION_SIZE, index_of, range_of,
};
use lego_mm::{
    Access, Error, Fault, Layout, MapRequest, PageIndex, Placement, Prot, RemapFlags, TouchedPages,
    VRegions, VmFlags, VmaTree, errno,
};
use proptest::prelude::*;

const G: u64 = VREGION_SIZE;

// ---------------------------------------------------------------- vRegions

#[test]
fn vregions_are_1_gib_over_the_128_tib_user_half() {
    assert_eq!(VREGION_COUNT, 131_072);
    assert_eq!(index_of(G - 1), Some(0));
    assert_eq!(index_of(G), Some(1));
    assert_eq!(index_of(USER_SPACE - 1), Some(VREGION_COUNT - 1));
    assert_eq!(index_of(USER_SPACE), None);
    assert_eq!(range_of(3), 3 * G..4 * G);
}

#[test]
fn a_program_spanning_two_vregions_gets_both_mcomponents_round_robin() {
    let mut t = VmaTree::new(Layout::linux(STACK_RLIMIT, None), 65530);
    let mut v = VRegions::new();
    let mut rr = RoundRobin::new(vec![10, 11]);
    let text = MapRequest::file(1, 0, 16 * P, Prot::RX).at(0x40_0000, Placement::Fixed);
    let heap = MapRequest::anon(64 * P, Prot::RW).at(G - 16 * P, Placement::Fixed);
    for r in [text, heap] {
        let m = t.map(&r).unwrap();
        v.ensure_owned(m.addr..m.addr + r.len, &mut rr).unwrap();
    }
    assert_eq!(v.iter().collect::<Vec<_>>(), [(0, 10), (1, 11)]);
    assert_eq!(v.owner(0x40_0000), Some(10));
    assert_eq!(v.owner(G + 5), Some(11));
    assert_eq!(v.per_owner(), BTreeMap::from([(10, 1), (11, 1)]));
}

#[test]
fn ensure_owned_assigns_only_new_vregions() {
    let mut v = VRegions::new();
    let mut rr = RoundRobin::new(vec![1, 2, 3]);
    assert_eq!(v.ensure_owned(0..2 * G, &mut rr).unwrap(), [(0, 1), (1, 2)]);
    assert_eq!(
        v.ensure_owned(G..3 * G + 1, &mut rr).unwrap(),
        [(2, 3), (3, 1)]
    );
    assert_eq!(v.ensure_owned(5..5, &mut rr).unwrap(), []);
    assert_eq!(v.owned_by(1).collect::<Vec<_>>(), [0, 3]);
}

#[test]
fn least_loaded_takes_the_freest_with_room_and_counts_what_it_gave() {
    let mut p = LeastLoaded::new(vec![(1, 100), (2, 300), (3, 50)]);
    let mut v = VRegions::new();
    v.ensure_owned(0..200, &mut p).unwrap();
    assert_eq!(v.owner(0), Some(2));
    assert_eq!(p.free(), [(1, 100), (2, 100), (3, 50)]);
    v.ensure_owned(G..G + 60, &mut p).unwrap();
    assert_eq!(v.owner(G), Some(1), "ties go to the first");
    assert_eq!(
        v.ensure_owned(2 * G..2 * G + 101, &mut p),
        Err(Error::NoOwner)
    );
}

#[test]
fn a_failed_placement_assigns_nothing() {
    let mut v = VRegions::new();
    let mut p = LeastLoaded::new(vec![(1, G)]);
    let e = v.ensure_owned(0..2 * G, &mut p).unwrap_err();
    assert_eq!((e, e.errno()), (Error::NoOwner, errno::ENOMEM));
    assert!(v.is_empty());
    assert_eq!(
        v.ensure_owned(0..1, &mut RoundRobin::new(vec![])),
        Err(Error::NoOwner)
    );
}

#[test]
fn ranges_beyond_the_user_half_are_refused() {
    let mut v = VRegions::new();
    assert_eq!(
        v.ensure_owned(USER_SPACE - 1..USER_SPACE + 1, &mut Single(1)),
        Err(Error::InvalidRange)
    );
    v.ensure_owned(USER_SPACE - 1..USER_SPACE, &mut Single(1))
        .unwrap();
    assert_eq!(v.owner(u64::MAX), None);
}

#[test]
fn vregions_with_nothing_mapped_are_released() {
    let mut t = VmaTree::new(Layout::linux(STACK_RLIMIT, None), 65530);
    let mut v = VRegions::new();
    t.map(&MapRequest::anon(2 * P, Prot::RW).at(G - P, Placement::Fixed))
        .unwrap();
    v.ensure_owned(G - P..G + P, &mut Single(4)).unwrap();
    t.unmap(G, P).unwrap();
    assert_eq!(v.release_unused(G - P..G + P, &t), [(1, 4)]);
    assert_eq!(v.iter().collect::<Vec<_>>(), [(0, 4)]);
    assert_eq!(v.release_unused(0..u64::MAX, &t), []);
    assert_eq!(v.release_all(), [(0, 4)]);
    assert!(v.is_empty());
}

// ---------------------------------------------------------------- page index

#[test]
fn a_page_gets_a_frame_on_first_use_only() {
    let mut pool = MemPool::new(4);
    let mut ix = PageIndex::new(4).unwrap();
    let a = ix.get_or_zero(1, 0x1234, &mut pool).unwrap();
    assert!(a.fresh);
    let b = ix.get_or_zero(1, 0x1fff, &mut pool).unwrap();
    assert_eq!((b.frame, b.fresh), (a.frame, false), "same page");
    assert_eq!(ix.lookup(1, 0x1000), Some(a.frame));
    assert_eq!(ix.lookup(2, 0x1000), None, "another process");
    assert_eq!((ix.count(1), ix.len()), (1, 1));
}

#[test]
fn an_empty_pool_is_enomem_not_a_panic() {
    let mut pool = MemPool::new(1);
    let mut ix = PageIndex::new(8).unwrap();
    ix.get_or_zero(1, 0, &mut pool).unwrap();
    let e = ix.get_or_zero(1, P, &mut pool).unwrap_err();
    assert_eq!((e, e.errno()), (Error::NoFrames, errno::ENOMEM));
    let mut big = MemPool::new(8);
    let mut small = PageIndex::new(1).unwrap();
    small.get_or_zero(1, 0, &mut big).unwrap();
    assert_eq!(
        small.get_or_zero(1, P, &mut big),
        Err(Error::NoFrames),
        "index bound"
    );
    assert_eq!(big.in_use(), 1, "no frame taken that could not be recorded");
    assert_eq!(PageIndex::new(usize::MAX).unwrap_err(), Error::NoFrames);
}

#[test]
fn bad_addresses_and_pids_are_refused() {
    let mut pool = MemPool::new(4);
    let mut ix = PageIndex::new(4).unwrap();
    assert_eq!(
        ix.get_or_zero(1, USER_SPACE, &mut pool),
        Err(Error::BadAddress)
    );
    assert_eq!(
        ix.get_or_zero(MAX_PID + 1, 0, &mut pool)
            .unwrap_err()
            .errno(),
        errno::ESRCH
    );
    ix.get_or_zero(MAX_PID, USER_SPACE - 1, &mut pool).unwrap();
    assert_eq!(ix.lookup(u32::MAX, u64::MAX), None);
}

#[test]
fn a_forked_process_shares_frames_until_either_writes() {
    let mut pool = MemPool::new(8);
    let mut ix = PageIndex::new(8).unwrap();
    let a = ix.get_or_zero(1, 0, &mut pool).unwrap().frame;
    let b = ix.get_or_zero(1, P, &mut pool).unwrap().frame;
    assert_eq!(ix.fork(1, 2), Ok(2));
    assert_eq!((ix.lookup(2, 0), ix.lookup(2, P)), (Some(a), Some(b)));
    assert_eq!((pool.in_use(), ix.shared_frames()), (2, 2));
    // The child writes page 0: its own frame; the parent's stays.
    let c = ix.get_or_zero(2, 0, &mut pool).unwrap();
    assert!(c.fresh && c.frame != a);
    assert_eq!(ix.lookup(1, 0), Some(a));
    // Now unshared: the parent writes in place.
    assert_eq!(
        ix.get_or_zero(1, 0, &mut pool).unwrap(),
        Frame {
            frame: a,
            fresh: false
        }
    );
    // The parent exits: the child keeps page 1's frame.
    assert_eq!(ix.remove_process(1, &mut pool), 2);
    assert_eq!(ix.lookup(2, P), Some(b));
    assert_eq!((pool.in_use(), ix.shared_frames()), (2, 0));
    assert_eq!(ix.fork(2, 2), Err(Error::BadPid));
    ix.verify().unwrap();
    assert_eq!(pool.bad_frees, 0);
}

#[test]
fn remove_range_frees_the_pages_whose_start_is_inside() {
    let mut pool = MemPool::new(16);
    let mut ix = PageIndex::new(16).unwrap();
    for i in 0..8 {
        ix.get_or_zero(1, i * P, &mut pool).unwrap();
    }
    ix.get_or_zero(2, 3 * P, &mut pool).unwrap();
    assert_eq!(ix.remove_range(1, 2 * P - 1..5 * P, &mut pool), 3);
    assert_eq!(ix.count(1), 5);
    assert_eq!(ix.remove_range(1, 0..u64::MAX, &mut pool), 5, "by scanning");
    assert_eq!(ix.count(2), 1);
    assert_eq!(pool.in_use(), 1);
    ix.verify().unwrap();
}

#[test]
fn remove_process_frees_everything_of_it() {
    let mut pool = MemPool::new(16);
    let mut ix = PageIndex::new(16).unwrap();
    for i in 0..5 {
        ix.get_or_zero(7, i * G, &mut pool).unwrap();
        ix.get_or_zero(8, i * P, &mut pool).unwrap();
    }
    assert_eq!(ix.remove_process(7, &mut pool), 5);
    assert_eq!(ix.remove_process(7, &mut pool), 0);
    assert_eq!(ix.processes().collect::<Vec<_>>(), [(8, 5)]);
    assert_eq!((pool.in_use(), pool.bad_frees), (5, 0));
}

#[test]
fn move_range_moves_frames_and_frees_the_destinations() {
    let mut pool = MemPool::new(16);
    let mut ix = PageIndex::new(16).unwrap();
    let a = ix.get_or_zero(1, G, &mut pool).unwrap().frame;
    ix.get_or_zero(1, 2 * G + P, &mut pool).unwrap();
    assert_eq!(ix.move_range(1, G, 2 * G, 4 * P, &mut pool), Ok(1));
    assert_eq!(ix.lookup(1, 2 * G), Some(a));
    assert_eq!(ix.lookup(1, 2 * G + P), None, "replaced");
    assert_eq!(ix.lookup(1, G), None);
    assert_eq!((ix.count(1), pool.in_use()), (1, 1));
    assert_eq!(
        ix.move_range(1, G + 1, 0, P, &mut pool),
        Err(Error::BadAddress)
    );
    assert_eq!(
        ix.move_range(1, 0, USER_SPACE - P, 2 * P, &mut pool),
        Err(Error::BadAddress)
    );
}

#[test]
fn the_page_index_never_reallocates() {
    let n = 1000;
    let mut pool = MemPool::new(n as u64);
    let mut ix = PageIndex::new(n).unwrap();
    let bytes = ix.allocation_bytes();
    let mut x = 0x9E37_79B9_u64;
    let mut live: Vec<u64> = Vec::new();
    for i in 0..n as u64 {
        ix.get_or_zero(1, i * P, &mut pool).unwrap();
        live.push(i * P);
    }
    for next in n as u64..51 * n as u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let va = live.swap_remove(x as usize % live.len());
        ix.remove_range(1, va..va + P, &mut pool);
        ix.get_or_zero(1, next * P, &mut pool).unwrap();
        live.push(next * P);
        assert_eq!(ix.allocation_bytes(), bytes);
    }
}

#[derive(Clone, Debug)]
enum PageOp {
    Get(u32, u64),
    Remove(u32, u64, u64),
    Process(u32),
    Move(u32, u64, u64, u64),
    Fork(u32, u32),
}

fn page_op() -> impl Strategy<Value = PageOp> {
    let pid = prop_oneof![8 => 0u32..3, 1 => Just(MAX_PID + 1)];
    let va = prop_oneof![8 => (0..64u64).prop_map(|p| p * P), 1 => any::<u64>()];
    let len = prop_oneof![8 => (0..80u64).prop_map(|p| p * P), 1 => any::<u64>()];
    prop_oneof![
        6 => (pid.clone(), va.clone()).prop_map(|(p, v)| PageOp::Get(p, v)),
        2 => (pid.clone(), va.clone(), len.clone()).prop_map(|(p, v, l)| PageOp::Remove(p, v, l)),
        1 => pid.clone().prop_map(PageOp::Process),
        2 => (pid.clone(), va.clone(), va, len).prop_map(|(p, a, b, l)| PageOp::Move(p, a, b, l)),
        2 => (pid.clone(), pid).prop_map(|(a, b)| PageOp::Fork(a, b)),
    ]
}

proptest! {
    #[test]
    fn page_index_agrees_with_a_map(cap in 0usize..24, ops in prop::collection::vec(page_op(), 1..80)) {
        let mut pool = MemPool::new(cap as u64);
        let mut ix = PageIndex::new(cap).unwrap();
        let mut model: BTreeMap<(u32, u64), u64> = BTreeMap::new();
        for op in ops {
            match op {
                PageOp::Get(pid, va) => {
                    let r = ix.get_or_zero(pid, va, &mut pool);
                    if pid <= MAX_PID && va < USER_SPACE {
                        let k = (pid, va / P * P);
                        let distinct: BTreeSet<u64> = model.values().copied().collect();
                        let shared = |f: u64| model.values().filter(|&&g| g == f).count() > 1;
                        match model.get(&k) {
                            // Shared with a forked process: the writer gets its own frame.
                            Some(&f) if shared(f) && distinct.len() < cap => {
                                let g = r.unwrap();
                                prop_assert!(g.fresh && g.frame != f);
                                prop_assert!(!distinct.contains(&g.frame));
                                model.insert(k, g.frame);
                            }
                            Some(&f) if shared(f) => prop_assert_eq!(r, Err(Error::NoFrames)),
                            Some(&f) => prop_assert_eq!(r.unwrap().frame, f),
                            None if model.len() < cap => {
                                let f = r.unwrap();
                                prop_assert!(f.fresh);
                                model.insert(k, f.frame);
                            }
                            None => prop_assert_eq!(r, Err(Error::NoFrames)),
                        }
                    } else {
                        prop_assert!(r.is_err());
                    }
                }
                PageOp::Remove(pid, va, len) => {
                    let end = va.saturating_add(len);
                    let n = ix.remove_range(pid, va..end, &mut pool);
                    let before = model.len();
                    model.retain(|&(p, v), _| !(p == pid && v >= va && v < end));
                    prop_assert_eq!(n, (before - model.len()) as u64);
                }
                PageOp::Process(pid) => {
                    let n = ix.remove_process(pid, &mut pool);
                    let before = model.len();
                    model.retain(|&(p, _), _| p != pid);
                    prop_assert_eq!(n, (before - model.len()) as u64);
                }
                PageOp::Move(pid, from, to, len) => {
                    let r = ix.move_range(pid, from, to, len, &mut pool);
                    let ok = |a: u64| a.is_multiple_of(P) && a.checked_add(len).is_some_and(|e| e <= USER_SPACE);
                    if ok(from) && ok(to) && len.is_multiple_of(P) && pid <= MAX_PID {
                        let moving: Vec<_> = model.range((pid, from)..(pid, from + len)).map(|(&(_, v), &f)| (v, f)).collect();
                        for (v, _) in &moving { model.remove(&(pid, *v)); }
                        model.retain(|&(p, v), _| !(p == pid && v >= to && v < to + len));
                        for (v, f) in &moving { model.insert((pid, v - from + to), *f); }
                        prop_assert_eq!(r, Ok(moving.len() as u64));
                    } else {
                        prop_assert!(r.is_err());
                    }
                }
                PageOp::Fork(parent, child) => {
                    let r = ix.fork(parent, child);
                    let count = |pid| model.keys().filter(|k| k.0 == pid).count();
                    let n = count(parent);
                    if parent > MAX_PID || child > MAX_PID {
                        prop_assert_eq!(r, Err(Error::BadPid));
                    } else if parent == child || count(child) != 0 {
                        prop_assert_eq!(r, Err(Error::BadPid));
                    } else if n > 0 && model.len() + n > cap {
                        prop_assert_eq!(r, Err(Error::NoFrames));
                    } else {
                        prop_assert_eq!(r, Ok(n as u64));
                        let pages: Vec<(u64, u64)> = model.iter().filter(|(k, _)| k.0 == parent).map(|(k, &f)| (k.1, f)).collect();
                        for (v, f) in pages { model.insert((child, v), f); }
                    }
                }
            }
            ix.verify().unwrap();
            prop_assert_eq!(ix.len(), model.len());
            let distinct: BTreeSet<u64> = model.values().copied().collect();
            prop_assert_eq!(pool.in_use(), distinct.len());
            prop_assert_eq!(pool.bad_frees, 0);
            for (&(p, v), &f) in &model {
                prop_assert_eq!(ix.lookup(p, v), Some(f));
            }
        }
    }
}

// ---------------------------------------------------------------- touched pages

#[test]
fn touched_pages_mark_and_clear_by_page() {
    let mut s = TouchedPages::new(8);
    assert!(s.insert(0x20_1234));
    assert!(!s.insert(0x20_1000));
    assert!(s.contains(0x20_1fff) && !s.contains(0x20_2000));
    s.insert(0x20_2000);
    s.insert(0x7fff_ffff_e000);
    assert_eq!((s.len(), s.chunks()), (3, 2));
    s.clear_range(0x20_1001..0x20_3000);
    assert!(s.contains(0x20_1000), "its first byte is outside the range");
    assert!(!s.contains(0x20_2000));
    s.clear_range(0..u64::MAX);
    assert!(s.is_empty() && s.chunks() == 0);
}

#[test]
fn touched_pages_saturate_instead_of_growing() {
    let mut s = TouchedPages::new(2);
    s.insert(0);
    s.insert(2 << 20);
    assert!(!s.is_saturated());
    s.insert(4 << 20);
    assert!(s.is_saturated());
    assert!(
        s.contains(123 << 30),
        "everything counts as touched: always fetched"
    );
    s.clear_range(0..u64::MAX);
    assert!(s.contains(0), "clearing cannot undo saturation");
    s.clear();
    assert!(!s.contains(0) && !s.is_saturated());
}

#[test]
fn touched_pages_move_with_mremap() {
    let mut s = TouchedPages::new(8);
    s.insert(0x10_0000);
    s.insert(0x10_3000);
    s.insert(0x40_1000);
    s.move_range(0x10_0000, 0x40_0000, 4 * P);
    assert!(!s.contains(0x10_0000) && !s.contains(0x10_3000));
    assert!(s.contains(0x40_0000) && s.contains(0x40_3000));
    assert!(!s.contains(0x40_1000), "replaced");
    assert_eq!(s.len(), 2);
}

#[derive(Clone, Debug)]
enum TouchOp {
    Insert(u64),
    Clear(u64, u64),
    Move(u64, u64, u64),
}

fn touch_addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => (0..2048u64).prop_map(|p| p * P),
        2 => (0..2048u64, 1..P).prop_map(|(p, o)| p * P + o),
        1 => any::<u64>(),
    ]
}

proptest! {
    #[test]
    fn touched_pages_agree_with_a_set(max in 1usize..6, ops in prop::collection::vec(
        prop_oneof![
            5 => touch_addr().prop_map(TouchOp::Insert),
            2 => (touch_addr(), 0..600 * P).prop_map(|(a, l)| TouchOp::Clear(a, l)),
            2 => (touch_addr(), touch_addr(), 0..300u64).prop_map(|(a, b, n)| TouchOp::Move(a & !(P - 1), b & !(P - 1), n * P)),
        ], 1..100)) {
        let mut s = TouchedPages::new(max);
        let mut model: BTreeSet<u64> = BTreeSet::new();
        for op in ops {
            match op {
                TouchOp::Insert(va) => {
                    let fresh = s.insert(va);
                    if !s.is_saturated() {
                        prop_assert_eq!(fresh, model.insert(va / P));
                    }
                }
                TouchOp::Clear(a, l) => {
                    let end = a.saturating_add(l);
                    s.clear_range(a..end);
                    model.retain(|&p| !(p * P >= a && p * P < end));
                }
                TouchOp::Move(from, to, len) => {
                    s.move_range(from, to, len);
                    if let (Some(fe), Some(te)) = (from.checked_add(len), to.checked_add(len)) {
                        let moving: Vec<u64> = model.iter().copied().filter(|&p| p * P >= from && p * P < fe).collect();
                        let inside = |p: u64, lo: u64, hi: u64| p * P >= lo && p * P < hi;
                        model.retain(|&p| !inside(p, from, fe) && !inside(p, to, te));
                        model.extend(moving.iter().map(|p| (p * P - from + to) / P));
                    }
                }
            }
            if s.is_saturated() {
                prop_assert!(s.contains(0) && s.contains(u64::MAX));
                break;
            }
            prop_assert_eq!(s.len(), model.len() as u64);
            for &p in &model {
                prop_assert!(s.contains(p * P));
            }
            let chunks: BTreeSet<u64> = model.iter().map(|p| p >> 9).collect();
            prop_assert_eq!(s.chunks(), chunks.len());
            prop_assert!(s.chunks() <= max);
        }
    }
}

// ---------------------------------------------------------------- the miss decision

#[test]
fn an_untouched_anonymous_page_is_zero_filled_locally() {
    let v = anon(0x1000, 0x3000, Prot::RW);
    let mut s = TouchedPages::new(4);
    let fill = Action::ZeroFill { prot: Prot::RW };
    assert_eq!(resolve(Some(&v), 0x1008, Access::Write, &s), fill);
    s.insert(0x1000);
    assert_eq!(
        resolve(Some(&v), 0x1008, Access::Read, &s),
        Action::Fetch { prot: Prot::RW }
    );
    assert_eq!(resolve(Some(&v), 0x2008, Access::Read, &s), fill);
}

#[test]
fn file_pages_are_always_fetched() {
    let v = file(0x1000, 0x3000, Prot::RX, 1, 0);
    let s = TouchedPages::new(4);
    assert_eq!(
        resolve(Some(&v), 0x1000, Access::Exec, &s),
        Action::Fetch { prot: Prot::RX }
    );
}

#[test]
fn bad_accesses_signal() {
    let v = anon(0x1000, 0x2000, Prot::READ);
    let s = TouchedPages::new(4);
    assert_eq!(
        resolve(None, 0x1000, Access::Read, &s),
        Action::Signal(Fault::MapErr)
    );
    assert_eq!(
        resolve(Some(&v), 0x2000, Access::Read, &s),
        Action::Signal(Fault::MapErr)
    );
    assert_eq!(
        resolve(Some(&v), 0x1000, Access::Write, &s),
        Action::Signal(Fault::AccErr)
    );
    assert_eq!(Fault::AccErr.errno(), errno::EFAULT);
}

// ---------------------------------------------------------------- raw syscall arguments

#[test]
fn mmap_flags_decode_like_linux() {
    use linux::*;
    let anon = linux::mmap(
        0,
        P,
        PROT_READ | PROT_WRITE | 0x80,
        MAP_PRIVATE | MAP_ANONYMOUS,
        None,
        0,
    )
    .unwrap();
    assert_eq!(
        anon,
        MapRequest::anon(P, Prot::RW),
        "unknown prot bits ignored"
    );
    let f = |flags| linux::mmap(0, P, PROT_READ, flags, None, 0);
    assert_eq!(
        f(MAP_ANONYMOUS).unwrap_err().errno(),
        errno::EINVAL,
        "no map type"
    );
    assert_eq!(f(0xf | MAP_ANONYMOUS).unwrap_err().errno(), errno::EINVAL);
    assert_eq!(
        f(MAP_PRIVATE).unwrap_err().errno(),
        errno::EINVAL,
        "no file"
    );
    assert_eq!(
        f(MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x800_0000)
            .unwrap_err()
            .errno(),
        errno::EOPNOTSUPP
    );
    assert_eq!(
        f(MAP_SHARED | MAP_ANONYMOUS | 0x800_0000).unwrap().flags,
        VmFlags::SHARED
    );
    assert_eq!(
        f(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)
            .unwrap_err()
            .errno(),
        errno::ENOMEM
    );
    assert_eq!(
        f(MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN)
            .unwrap_err()
            .errno(),
        errno::EINVAL
    );
    assert_eq!(
        f(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_FIXED_NOREPLACE)
            .unwrap()
            .placement,
        Placement::FixedNoReplace
    );
    let unaligned = linux::mmap(0, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, None, 5);
    assert_eq!(
        unaligned.unwrap_err().errno(),
        errno::EINVAL,
        "even for anonymous"
    );
}

#[test]
fn file_mappings_take_their_limits_from_the_open_mode() {
    use linux::*;
    let ro = FileMode {
        file: 3,
        read: true,
        write: false,
    };
    let wo = FileMode {
        file: 3,
        read: false,
        write: true,
    };
    let rw = PROT_READ | PROT_WRITE;
    assert_eq!(
        linux::mmap(0, P, rw, MAP_SHARED, Some(ro), 0)
            .unwrap_err()
            .errno(),
        errno::EACCES
    );
    let shared = linux::mmap(0, P, PROT_READ, MAP_SHARED, Some(ro), 0).unwrap();
    assert_eq!(shared.max_prot, Prot::RX, "may never become writable");
    let private = linux::mmap(0, P, rw, MAP_PRIVATE, Some(ro), 4 * P).unwrap();
    assert_eq!(
        (private.max_prot, private.kind),
        (
            Prot::RWX,
            lego_mm::Kind::File {
                file: 3,
                offset: 4 * P
            }
        )
    );
    assert_eq!(
        linux::mmap(0, P, PROT_READ, MAP_PRIVATE, Some(wo), 0)
            .unwrap_err()
            .errno(),
        errno::EACCES
    );
}

#[test]
fn mprotect_and_mremap_flags_decode_like_linux() {
    use linux::*;
    assert_eq!(mprotect_prot(PROT_READ | PROT_SEM), Ok(Prot::READ));
    assert_eq!(mprotect_prot(0x10).unwrap_err().errno(), errno::EINVAL);
    assert_eq!(
        mprotect_prot(PROT_GROWSDOWN | PROT_READ)
            .unwrap_err()
            .errno(),
        errno::EINVAL
    );
    assert_eq!(
        mremap_flags(MREMAP_MAYMOVE),
        Ok(RemapFlags {
            may_move: true,
            fixed: false
        })
    );
    assert_eq!(
        mremap_flags(MREMAP_FIXED).unwrap_err().errno(),
        errno::EINVAL
    );
    assert_eq!(
        mremap_flags(MREMAP_MAYMOVE | MREMAP_DONTUNMAP)
            .unwrap_err()
            .errno(),
        errno::EINVAL
    );
    assert_eq!(mremap_flags(8).unwrap_err().errno(), errno::EINVAL);
}

#[test]
fn every_error_has_its_linux_errno() {
    use errno::*;
    let cases = [
        (Error::Unaligned, EINVAL),
        (Error::ZeroLength, EINVAL),
        (Error::InvalidFlags, EINVAL),
        (Error::InvalidRange, EINVAL),
        (Error::NoSpace, ENOMEM),
        (Error::MapCount, ENOMEM),
        (Error::Unmapped, ENOMEM),
        (Error::Limit, ENOMEM),
        (Error::Exists, EEXIST),
        (Error::BadAddress, EFAULT),
        (Error::Denied, EACCES),
        (Error::BelowMinAddr, EPERM),
        (Error::Overflow, EOVERFLOW),
        (Error::NoFrames, ENOMEM),
        (Error::NoOwner, ENOMEM),
        (Error::BadPid, ESRCH),
        (Error::NotSupported, EOPNOTSUPP),
    ];
    for (e, n) in cases {
        assert_eq!(e.errno(), n, "{e:?}");
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        (EINVAL, ENOMEM, EEXIST, EFAULT, EACCES, EAGAIN),
        (22, 12, 17, 14, 13, 11)
    );
}
