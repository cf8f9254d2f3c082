//! Random operation sequences on the vma tree (and brk) against the page-granular model of
//! `lego_mm::testing`: every result must be equal, errors and partial results included, the
//! tree's vmas must equal the model's runs of pages (so every page agrees, and the tree is
//! merged exactly where pages are compatible), and the tree's invariants (sorted,
//! non-overlapping, aligned, merged, within task_size and max_map_count) must hold after
//! every step.
//!
//! Two address spaces: a tiny one (2 MiB, small max_map_count) where operations collide,
//! run out of room and hit every limit; and x86-64 Linux's own layout with addresses at its
//! edges (mmap_min_addr, the end of the user half, 2^47, u64::MAX) and lengths near u64::MAX.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use lego_mm::layout::{STACK_RLIMIT, USER_SPACE, USER_TOP};
use lego_mm::testing::Model;
use lego_mm::{
    Access, Brk, Image, Kind, Layout, MapRequest, Placement, Prot, Random, RemapFlags, VmFlags,
    VmaTree,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// An address: absolute, or relative to one of the vmas present when the operation runs
/// (index modulo their number), so that operations hit mappings often.
#[derive(Clone, Copy, Debug)]
enum At {
    Abs(u64),
    /// `k` pages (plus `sub` bytes) into vma `i`, `k` modulo its length.
    In(usize, u64, u64),
    /// `k` pages below the start of vma `i`.
    Below(usize, u64),
    /// `k` pages from the end of vma `i` (negative: inside).
    End(usize, i64),
}

impl At {
    fn resolve(self, t: &VmaTree) -> u64 {
        let n = t.len();
        let vma = |i: usize| t.iter().nth(i % n.max(1)).copied();
        match self {
            At::Abs(a) => a,
            At::In(i, k, sub) => vma(i).map_or(k * P, |v| v.start + (k % (v.len() / P)) * P + sub),
            At::Below(i, k) => vma(i).map_or(0, |v| v.start.saturating_sub(k * P)),
            At::End(i, k) => vma(i).map_or(0, |v| v.end.wrapping_add_signed(k * P as i64)),
        }
    }
}

fn at(abs: impl Strategy<Value = u64>) -> impl Strategy<Value = At> {
    prop_oneof![
        4 => abs.prop_map(At::Abs),
        4 => (any::<usize>(), 0..64u64, prop_oneof![8 => Just(0u64), 1 => 1..P])
            .prop_map(|(i, k, s)| At::In(i, k, s)),
        1 => (any::<usize>(), 1..48u64).prop_map(|(i, k)| At::Below(i, k)),
        1 => (any::<usize>(), -4..4i64).prop_map(|(i, k)| At::End(i, k)),
    ]
}

/// `mremap`'s old length: absolute, or from the address to the end of its vma plus `k` pages.
#[derive(Clone, Copy, Debug)]
enum OldLen {
    Abs(u64),
    ToEnd(i64),
}

impl OldLen {
    fn resolve(self, t: &VmaTree, addr: u64) -> u64 {
        match self {
            OldLen::Abs(l) => l,
            OldLen::ToEnd(k) => t
                .find(addr)
                .map_or(P, |v| (v.end - addr).wrapping_add_signed(k * P as i64)),
        }
    }
}

fn old_len(abs: impl Strategy<Value = u64>) -> impl Strategy<Value = OldLen> {
    prop_oneof![
        2 => abs.prop_map(OldLen::Abs),
        1 => prop_oneof![4 => Just(0i64), 1 => -2..2i64].prop_map(OldLen::ToEnd),
    ]
}

/// An address inside a vma, mostly.
fn in_vma(abs: impl Strategy<Value = u64>) -> impl Strategy<Value = At> {
    prop_oneof![
        1 => abs.prop_map(At::Abs),
        4 => (any::<usize>(), 0..64u64, prop_oneof![8 => Just(0u64), 1 => 1..P])
            .prop_map(|(i, k, s)| At::In(i, k, s)),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Map(MapRequest, At),
    Unmap(At, u64),
    Protect(At, u64, Prot),
    Remap(At, OldLen, u64, RemapFlags, At),
    Advise(At, u64),
    Classify(At, Access),
    Brk(u64),
}

fn prot() -> impl Strategy<Value = Prot> {
    (0u32..8).prop_map(Prot::from_bits_truncate)
}

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![Just(Access::Read), Just(Access::Write), Just(Access::Exec)]
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        3 => Just(Placement::Hint),
        3 => Just(Placement::Fixed),
        1 => Just(Placement::FixedNoReplace),
    ]
}

fn remap_flags() -> impl Strategy<Value = RemapFlags> {
    let f = |may_move, fixed| RemapFlags { may_move, fixed };
    prop_oneof![
        2 => Just(f(false, false)),
        3 => Just(f(true, false)),
        2 => Just(f(true, true)),
        1 => Just(f(false, true)),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => Just(Kind::Anon),
        2 => (1u32..3, 0u64..16).prop_map(|(file, o)| Kind::File { file, offset: o * P }),
        1 => (1u32..3, prop_oneof![Just(1u64), Just(P - 1), Just(i64::MAX as u64 - 4 * P + 1),
            Just((i64::MAX as u64 & !(P - 1)) - 8 * P), Just(!(P - 1))])
            .prop_map(|(file, offset)| Kind::File { file, offset }),
    ]
}

fn vm_flags() -> impl Strategy<Value = VmFlags> {
    prop_oneof![
        8 => Just(VmFlags::PRIVATE),
        1 => Just(VmFlags::SHARED),
        2 => Just(VmFlags::GROWS_DOWN),
        1 => Just(VmFlags::SHARED | VmFlags::GROWS_DOWN),
    ]
}

fn max_prot() -> impl Strategy<Value = Prot> {
    prop_oneof![4 => Just(Prot::RWX), 1 => Just(Prot::RX), 1 => prot()]
}

/// Addresses and lengths of the tiny space.
mod tiny_args {
    use super::*;

    pub fn addr() -> impl Strategy<Value = u64> {
        prop_oneof![
            8 => (0..TINY_PAGES + 8).prop_map(|p| p * P),
            1 => (0..TINY_PAGES, 1..P).prop_map(|(p, o)| p * P + o),
            1 => prop_oneof![Just(0u64), Just(TINY_PAGES * P), Just(!(P - 1)),
                Just(u64::MAX), Just(1 << 63)],
        ]
    }

    pub fn len() -> impl Strategy<Value = u64> {
        prop_oneof![
            8 => (1..=80u64).prop_map(|p| p * P),
            2 => (1..=80u64, 1..P).prop_map(|(p, o)| p * P - o),
            1 => Just(0u64),
            1 => prop_oneof![Just(u64::MAX), Just(u64::MAX - P), Just(u64::MAX - 2 * P + 1),
                Just(TINY_PAGES * P), Just(1 << 63)],
        ]
    }

    pub fn brk() -> impl Strategy<Value = u64> {
        prop_oneof![
            1 => Just(0u64),
            8 => (0..80u64, 0..P).prop_map(|(p, o)| TINY_BRK + p * P + o),
            1 => prop_oneof![Just(u64::MAX), Just(TINY_BRK - 1), Just(u64::MAX - P + 2)],
        ]
    }
}

fn tiny_op() -> impl Strategy<Value = Op> {
    use tiny_args::*;
    let map = (
        at(addr()),
        len(),
        prot(),
        max_prot(),
        vm_flags(),
        placement(),
        kind(),
    )
        .prop_map(|(a, len, prot, max_prot, flags, placement, kind)| {
            let req = MapRequest {
                addr: 0,
                len,
                prot,
                max_prot,
                flags,
                placement,
                kind,
            };
            Op::Map(req, a)
        });
    // Something (often PROT_NONE) mapped a few pages below a vma (the stack, say).
    let under = (
        any::<usize>(),
        2..20u64,
        1..4u64,
        prop_oneof![Just(Prot::NONE), prot()],
    )
        .prop_map(|(i, k, n, prot)| {
            Op::Map(
                MapRequest::anon(n * P, prot).at(0, Placement::Fixed),
                At::Below(i, k),
            )
        });
    prop_oneof![
        6 => map,
        1 => under,
        3 => (at(addr()), len()).prop_map(|(a, l)| Op::Unmap(a, l)),
        3 => (at(addr()), len(), prot()).prop_map(|(a, l, p)| Op::Protect(a, l, p)),
        5 => (in_vma(addr()), old_len(len()), len(), remap_flags(), at(addr()))
            .prop_map(|(a, o, n, f, d)| Op::Remap(a, o, n, f, d)),
        2 => (at(addr()), len()).prop_map(|(a, l)| Op::Advise(a, l)),
        3 => (at(addr()), access()).prop_map(|(a, x)| Op::Classify(a, x)),
        3 => brk().prop_map(Op::Brk),
    ]
}

/// A one-word summary of an outcome, for `MM_STATS=1` (how often each path is taken).
fn outcome(t: &VmaTree, b: &Brk, op: &Op) -> String {
    let (mut t, mut b) = (t.clone(), *b);
    let r = |a: At, t: &VmaTree| a.resolve(t);
    match *op {
        Op::Map(req, a) => {
            let req = MapRequest {
                addr: r(a, &t),
                ..req
            };
            format!("map {:?}", t.map(&req).map(|m| !m.replaced.is_empty()))
        }
        Op::Unmap(a, l) => format!("unmap {:?}", t.unmap(r(a, &t), l).map(|v| !v.is_empty())),
        Op::Protect(a, l, p) => format!(
            "protect {:?}",
            t.protect(r(a, &t), l, p)
                .map_err(|e| (e.error, !e.done.is_empty()))
        ),
        Op::Remap(a, o, n, f, d) => {
            let (a, d) = (r(a, &t), r(d, &t));
            let o = o.resolve(&t, a);
            format!(
                "remap {:?}",
                t.remap(a, o, n, f, d)
                    .map(|x| (x.moved.is_some(), !x.freed.is_empty()))
            )
        }
        Op::Advise(a, l) => format!(
            "advise {:?}",
            t.advise_dontneed(r(a, &t), l)
                .map(|v| !v.is_empty())
                .map_err(|e| (e.error, !e.done.is_empty()))
        ),
        Op::Classify(a, x) => {
            format!(
                "classify {:?}",
                t.classify(r(a, &t), x).map(|h| h.grown.is_some())
            )
        }
        Op::Brk(req) => {
            let o = b.set(&mut t, req);
            let what = if o.grown.is_some() {
                "grow"
            } else if !o.freed.is_empty() {
                "shrink"
            } else if o.brk == req {
                "same page"
            } else {
                "refused"
            };
            format!("brk {what}")
        }
    }
}

/// Applies `op` to both and compares everything.
fn step(t: &mut VmaTree, b: &mut Brk, m: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    if std::env::var_os("MM_STATS").is_some() {
        eprintln!("outcome: {}", outcome(t, b, op));
    }
    let r = |a: At, t: &VmaTree| a.resolve(t);
    match *op {
        Op::Map(req, a) => {
            let req = MapRequest {
                addr: r(a, t),
                ..req
            };
            prop_assert_eq!(t.map(&req), m.map(&req), "{:?}", req)
        }
        Op::Unmap(a, l) => {
            let a = r(a, t);
            prop_assert_eq!(t.unmap(a, l), m.unmap(a, l), "{:#x}", a)
        }
        Op::Protect(a, l, p) => {
            let a = r(a, t);
            prop_assert_eq!(t.protect(a, l, p), m.protect(a, l, p), "{:#x}", a)
        }
        Op::Remap(a, o, n, f, d) => {
            let (a, d) = (r(a, t), r(d, t));
            let o = o.resolve(t, a);
            prop_assert_eq!(
                t.remap(a, o, n, f, d),
                m.remap(a, o, n, f, d),
                "{:#x} {:#x}",
                a,
                d
            )
        }
        Op::Advise(a, l) => {
            let a = r(a, t);
            prop_assert_eq!(t.advise_dontneed(a, l), m.advise_dontneed(a, l), "{:#x}", a)
        }
        Op::Classify(a, x) => {
            let a = r(a, t);
            prop_assert_eq!(t.classify(a, x), m.classify(a, x), "{:#x}", a)
        }
        Op::Brk(req) => prop_assert_eq!(b.set(t, req), m.brk(req)),
    }
    if let Err(e) = t.verify() {
        return Err(TestCaseError::fail(format!(
            "invariant broken after {op:?}: {e}"
        )));
    }
    let vmas: Vec<_> = t.iter().copied().collect();
    prop_assert_eq!(vmas, m.vmas(), "vmas differ after {:?}", op);
    prop_assert_eq!(b.current(), m.brk_current());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn tiny_space_agrees_with_the_model(
        low_base in any::<bool>(),
        max_count in prop_oneof![Just(5usize), Just(8), Just(64)],
        ops in prop::collection::vec(tiny_op(), 1..60),
    ) {
        let layout = if low_base { tiny_layout_low_base() } else { tiny_layout() };
        let (mut t, mut b, mut m) = tiny_with(layout, max_count);
        for op in &ops {
            step(&mut t, &mut b, &mut m, op)?;
        }
    }
}

/// Addresses and lengths at the edges of x86-64 Linux's layout.
mod linux_args {
    use super::*;

    /// Points where things happen, with a few pages either side.
    pub fn addr(l: Layout, brk: u64) -> impl Strategy<Value = u64> {
        let points = vec![
            0,
            l.min_addr,
            0x40_0000,
            brk,
            l.legacy_base,
            l.mmap_base,
            l.stack_top - (8 << 20),
            l.stack_top - (9 << 20),
            l.stack_top - (128 << 10),
            l.stack_top,
            USER_TOP,
            USER_SPACE,
            !(P - 1),
        ];
        prop_oneof![
            8 => (prop::sample::select(points), -16i64..16, prop_oneof![4 => Just(0u64), 1 => 1..P])
                .prop_map(|(p, k, o)| p.wrapping_add_signed(k * P as i64).wrapping_add(o)),
            1 => any::<u64>(),
        ]
    }

    /// Lengths that create few pages, or more than the user space.
    pub fn small_or_huge() -> impl Strategy<Value = u64> {
        prop_oneof![
            8 => (1..=32u64, prop_oneof![3 => Just(0u64), 1 => 1..P]).prop_map(|(p, o)| p * P - o),
            1 => Just(0u64),
            2 => (0..16u64, prop_oneof![Just(USER_TOP + P), Just(USER_SPACE), Just(1 << 63),
                Just(u64::MAX)]).prop_map(|(k, base)| base.saturating_sub(k * P).max(USER_TOP + P)),
        ]
    }

    /// Any length (for operations that create no pages).
    pub fn any_len() -> impl Strategy<Value = u64> {
        prop_oneof![
            4 => small_or_huge(),
            1 => (0..USER_TOP).prop_map(|x| x & !(P - 1)),
            1 => any::<u64>(),
        ]
    }
}

fn linux_op(l: Layout, brk: u64) -> impl Strategy<Value = Op> {
    use linux_args::*;
    let a = move || at(addr(l, brk));
    let map = (
        a(),
        small_or_huge(),
        prot(),
        max_prot(),
        vm_flags(),
        placement(),
        kind(),
    )
        .prop_map(|(a, len, prot, max_prot, flags, placement, kind)| {
            let req = MapRequest {
                addr: 0,
                len,
                prot,
                max_prot,
                flags,
                placement,
                kind,
            };
            Op::Map(req, a)
        });
    prop_oneof![
        6 => map,
        3 => (a(), any_len()).prop_map(|(a, l)| Op::Unmap(a, l)),
        3 => (a(), any_len(), prot()).prop_map(|(a, l, p)| Op::Protect(a, l, p)),
        4 => (in_vma(addr(l, brk)), old_len(any_len()), small_or_huge(), remap_flags(), a())
            .prop_map(|(a, o, n, f, d)| Op::Remap(a, o, n, f, d)),
        2 => (a(), any_len()).prop_map(|(a, l)| Op::Advise(a, l)),
        3 => (a(), access()).prop_map(|(a, x)| Op::Classify(a, x)),
        2 => prop_oneof![Just(0u64), (0..64u64, 0..P).prop_map(move |(p, o)| brk + p * P + o),
            any::<u64>()].prop_map(Op::Brk),
    ]
}

/// A static ET_EXEC program under Linux's layout: text, data, bss, stack.
fn linux_setup(random: Option<Random>) -> (VmaTree, Brk, Model) {
    let l = Layout::linux(STACK_RLIMIT, random);
    let brk = l.brk_start(Image::Exec { end: 0x4c_5123 });
    let data_limit = 1 << 20;
    let mut t = VmaTree::new(l, lego_mm::DEFAULT_MAX_MAP_COUNT);
    let mut m = Model::new(l, lego_mm::DEFAULT_MAX_MAP_COUNT, brk, data_limit, 0x2000);
    let stack = l.initial_stack(3000).unwrap();
    let fixed = Placement::Fixed;
    for r in [
        MapRequest::file(7, 0, 0xa_0000, Prot::RX).at(0x40_0000, fixed),
        MapRequest::file(7, 0xa_0000, 0x2_0000, Prot::RW).at(0x4a_0000, fixed),
        MapRequest::anon(0x4c_5123 - 0x4c_0000, Prot::RW).at(0x4c_0000, fixed),
        MapRequest::anon(stack.end - stack.start, Prot::RW)
            .at(stack.start, fixed)
            .with_flags(VmFlags::GROWS_DOWN),
    ] {
        t.map(&r).unwrap();
        m.map(&r).unwrap();
    }
    (t, Brk::new(brk, data_limit, 0x2000), m)
}

fn linux_case() -> impl Strategy<Value = (Option<Random>, Vec<Op>)> {
    prop_oneof![
        Just(None),
        any::<u64>().prop_map(|s| Some(Random::from_seed(s)))
    ]
    .prop_flat_map(|random| {
        let (t, b, _) = linux_setup(random);
        let ops = prop::collection::vec(linux_op(*t.layout(), b.start()), 1..40);
        (Just(random), ops)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn linux_layout_edges_agree_with_the_model((random, ops) in linux_case()) {
        let (mut t, mut b, mut m) = linux_setup(random);
        for op in &ops {
            step(&mut t, &mut b, &mut m, op)?;
        }
    }
}
