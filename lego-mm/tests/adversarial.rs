//! No input panics: every operation with arbitrary `u64` arguments (biased to the edges:
//! 0, pages around the user/kernel boundary, 2^47, u64::MAX) on trees with arbitrary layouts
//! (sanitised by the tree), including mappings of terabytes that the model tests cannot
//! afford. After every step the tree's invariants hold and results are within the user
//! space.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::P;
use lego_mm::layout::{STACK_RLIMIT, USER_SPACE, USER_TOP};
use lego_mm::{
    Access, Brk, Kind, Layout, MapRequest, Placement, Prot, Random, RemapFlags, VmFlags, VmaTree,
};
use proptest::prelude::*;

fn edge() -> impl Strategy<Value = u64> {
    let points = prop::sample::select(vec![
        0u64,
        P,
        1 << 16,
        1 << 30,
        1 << 40,
        USER_TOP,
        USER_SPACE,
        1 << 63,
        u64::MAX,
    ]);
    prop_oneof![
        3 => (points, -4i64..4, prop_oneof![3 => Just(0u64), 1 => 0..P])
            .prop_map(|(p, k, o)| p.wrapping_add_signed(k * P as i64).wrapping_add(o)),
        2 => any::<u64>(),
        1 => (0..USER_TOP).prop_map(|x| x & !(P - 1)),
    ]
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![
        2 => Just(Layout::linux(STACK_RLIMIT, None)),
        1 => (any::<u64>(), any::<u64>()).prop_map(|(s, r)| Layout::linux(s, Some(Random::from_seed(r)))),
        1 => (edge(), edge(), edge(), edge(), edge(), edge(), edge(), edge()).prop_map(
            |(task_size, min_addr, stack_top, stack_limit, guard_gap, mmap_base, legacy_base, brk_offset)| Layout {
                task_size, min_addr, stack_top, stack_limit, guard_gap, mmap_base, legacy_base, brk_offset,
            }),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Map(u64, u64, u32, u32, u8, u8, u64),
    Unmap(u64, u64),
    Protect(u64, u64, u32),
    Remap(u64, u64, u64, bool, bool, u64),
    Advise(u64, u64),
    Classify(u64, u8),
    Brk(u64),
    Unmapped(u64, u64),
    StackLimit(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (edge(), edge(), 0u32..8, 0u32..8, 0u8..4, 0u8..3, edge())
            .prop_map(|(a, l, p, m, f, pl, o)| Op::Map(a, l, p, m, f, pl, o)),
        3 => (edge(), edge()).prop_map(|(a, l)| Op::Unmap(a, l)),
        2 => (edge(), edge(), 0u32..8).prop_map(|(a, l, p)| Op::Protect(a, l, p)),
        3 => (edge(), edge(), edge(), any::<bool>(), any::<bool>(), edge())
            .prop_map(|(a, o, n, m, f, d)| Op::Remap(a, o, n, m, f, d)),
        1 => (edge(), edge()).prop_map(|(a, l)| Op::Advise(a, l)),
        2 => (edge(), 0u8..3).prop_map(|(a, x)| Op::Classify(a, x)),
        2 => edge().prop_map(Op::Brk),
        1 => (edge(), edge()).prop_map(|(l, a)| Op::Unmapped(l, a)),
        1 => edge().prop_map(Op::StackLimit),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn nothing_panics_and_invariants_hold(
        layout in layout(),
        max_count in prop_oneof![Just(1usize), Just(4), Just(65530)],
        brk_start in edge(),
        data_limit in edge(),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let mut t = VmaTree::new(layout, max_count);
        let top = t.layout().task_size;
        let mut b = Brk::new(brk_start, data_limit, 0);
        for op in ops {
            match op {
                Op::Map(addr, len, prot, max, flags, placement, off) => {
                    let flags = [VmFlags::PRIVATE, VmFlags::SHARED, VmFlags::GROWS_DOWN,
                        VmFlags::SHARED | VmFlags::GROWS_DOWN][flags as usize];
                    let placement = [Placement::Hint, Placement::Fixed, Placement::FixedNoReplace][placement as usize];
                    let kind = if off % 3 == 0 { Kind::Anon } else { Kind::File { file: 1, offset: off } };
                    let req = MapRequest { addr, len, prot: Prot::from_bits_truncate(prot),
                        max_prot: Prot::from_bits_truncate(max), flags, placement, kind };
                    if let Ok(m) = t.map(&req) {
                        prop_assert!(m.addr < top && m.addr % P == 0);
                        prop_assert!(t.find(m.addr).is_some());
                    }
                }
                Op::Unmap(a, l) => { let _ = t.unmap(a, l); }
                Op::Protect(a, l, p) => { let _ = t.protect(a, l, Prot::from_bits_truncate(p)); }
                Op::Remap(a, o, n, may_move, fixed, d) => {
                    if let Ok(r) = t.remap(a, o, n, RemapFlags { may_move, fixed }, d) {
                        prop_assert!(t.find(r.addr).is_some());
                    }
                }
                Op::Advise(a, l) => { let _ = t.advise_dontneed(a, l); }
                Op::Classify(a, x) => {
                    let x = [Access::Read, Access::Write, Access::Exec][x as usize];
                    if let Ok(h) = t.classify(a, x) {
                        prop_assert!(h.vma.contains(a));
                    }
                }
                Op::Brk(r) => {
                    let o = b.set(&mut t, r);
                    prop_assert!(o.brk == r || o.brk == b.current());
                }
                Op::Unmapped(l, a) => {
                    if let Ok(x) = t.unmapped_area(l, a) {
                        prop_assert!(x < top);
                    }
                }
                Op::StackLimit(l) => t.set_stack_limit(l),
            }
            if let Err(e) = t.verify() {
                return Err(TestCaseError::fail(format!("invariant broken: {e}")));
            }
            let _ = t.vmas_in(0..u64::MAX).count();
            let _ = t.mapped_bytes(0..u64::MAX);
        }
    }

    #[test]
    fn layout_helpers_never_panic(layout in layout(), args in edge(), end in edge()) {
        let _ = layout.initial_stack(args);
        let _ = layout.brk_start(lego_mm::Image::Exec { end });
        let _ = layout.brk_start(lego_mm::Image::StaticPie);
        let s = layout.sanitized();
        prop_assert!(s.task_size <= USER_TOP && s.mmap_base <= s.task_size && s.min_addr <= s.task_size);
    }
}
