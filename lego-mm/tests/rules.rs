//! One test per rule of the vma tree, brk and fault classification, with the numbers Linux
//! gives on x86-64 (or the tiny layout where a rule needs a full address space).

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use lego_mm::layout::{STACK_GUARD_GAP, STACK_RLIMIT, USER_TOP};
use lego_mm::{
    Access, Brk, Error, Fault, Image, Kind, Layout, MapRequest, Partial, Placement, Prot, Remap,
    RemapFlags, VmFlags, Vma, VmaTree, errno,
};

/// The mmap base of Linux without randomisation.
const BASE: u64 = 0x7fff_f7ff_f000;
const X: u64 = 0x1000_0000;

fn linux() -> VmaTree {
    VmaTree::new(
        Layout::linux(STACK_RLIMIT, None),
        lego_mm::DEFAULT_MAX_MAP_COUNT,
    )
}

fn fixed(req: MapRequest, addr: u64) -> MapRequest {
    req.at(addr, Placement::Fixed)
}

fn stack(t: &mut VmaTree, start: u64, end: u64) {
    let r = fixed(MapRequest::anon(end - start, Prot::RW), start).with_flags(VmFlags::GROWS_DOWN);
    t.map(&r).unwrap();
}

const MOVE: RemapFlags = RemapFlags {
    may_move: true,
    fixed: false,
};
const STAY: RemapFlags = RemapFlags {
    may_move: false,
    fixed: false,
};
const FIXED: RemapFlags = RemapFlags {
    may_move: true,
    fixed: true,
};

// ---------------------------------------------------------------- mmap: placement

#[test]
fn mmap_without_hint_goes_top_down_from_mmap_base() {
    let mut t = linux();
    let a = t.map(&MapRequest::anon(3 * P, Prot::RW)).unwrap().addr;
    assert_eq!(a, BASE - 3 * P);
    let b = t.map(&MapRequest::anon(P, Prot::READ)).unwrap().addr;
    assert_eq!(b, BASE - 4 * P, "the next one right below");
    assert_eq!(spans(&t), [(b, a), (a, BASE)]);
}

#[test]
fn length_is_rounded_up_to_pages() {
    let mut t = linux();
    let a = t.map(&MapRequest::anon(1, Prot::RW)).unwrap().addr;
    assert_eq!(spans(&t), [(a, a + P)]);
}

#[test]
fn free_hint_is_honoured_rounded_down_to_a_page() {
    let mut t = linux();
    let r = MapRequest::anon(P, Prot::RW).at(0x1234_5678, Placement::Hint);
    assert_eq!(t.map(&r).unwrap().addr, 0x1234_5000);
}

#[test]
fn hint_below_min_addr_is_raised_to_it() {
    let mut t = linux();
    let r = MapRequest::anon(P, Prot::RW).at(0x1000, Placement::Hint);
    assert_eq!(t.map(&r).unwrap().addr, 0x10000);
}

#[test]
fn hint_over_a_mapping_falls_back_to_the_search() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(P, Prot::READ), X)).unwrap();
    let r = MapRequest::anon(2 * P, Prot::RW).at(X - P, Placement::Hint);
    assert_eq!(t.map(&r).unwrap().addr, BASE - 2 * P);
}

#[test]
fn hint_inside_a_stack_guard_gap_is_not_taken() {
    let mut t = linux();
    stack(&mut t, X, X + 4 * P);
    let r = MapRequest::anon(P, Prot::RW);
    assert_eq!(
        t.map(&r.at(X - 2 * P, Placement::Hint)).unwrap().addr,
        BASE - P
    );
    let just_below = X - STACK_GUARD_GAP - P;
    assert_eq!(
        t.map(&r.at(just_below, Placement::Hint)).unwrap().addr,
        just_below
    );
}

#[test]
fn search_keeps_the_guard_gap_below_a_grows_down_vma() {
    let l = tiny_layout();
    let mut t = tiny_empty(64);
    let top = l.mmap_base - 4 * P;
    stack(&mut t, top, l.mmap_base);
    let a = t.map(&MapRequest::anon(P, Prot::RW)).unwrap().addr;
    assert_eq!(a, top - l.guard_gap - P);
}

#[test]
fn search_falls_back_to_bottom_up_from_legacy_base() {
    let l = tiny_layout();
    let mut t = tiny_empty(64);
    t.map(&fixed(
        MapRequest::anon(l.mmap_base - l.min_addr, Prot::READ),
        l.min_addr,
    ))
    .unwrap();
    let a = t.map(&MapRequest::anon(P, Prot::RW)).unwrap().addr;
    assert_eq!(a, l.mmap_base, "the lowest free page above legacy_base");
}

#[test]
fn no_room_anywhere_is_enomem() {
    let l = tiny_layout();
    let mut t = tiny_empty(64);
    let e = t.map(&MapRequest::anon(l.task_size - l.min_addr + P, Prot::RW));
    assert_eq!(e.unwrap_err().errno(), errno::ENOMEM);
    assert!(t.is_empty());
}

#[test]
fn unmapped_area_aligns_for_a_static_pie() {
    let t = linux();
    let a = t.unmapped_area(0x12_3456, 1 << 21).unwrap();
    assert_eq!(a % (1 << 21), 0);
    assert!(a + 0x12_4000 <= BASE && a + 0x12_4000 + (1 << 21) > BASE);
    assert_eq!(t.unmapped_area(P, 3 * P), Err(Error::InvalidFlags));
    assert_eq!(t.unmapped_area(0, P), Err(Error::ZeroLength));
}

// ---------------------------------------------------------------- mmap: checks

#[test]
fn zero_length_is_einval() {
    let mut t = linux();
    let e = t.map(&MapRequest::anon(0, Prot::RW)).unwrap_err();
    assert_eq!((e, e.errno()), (Error::ZeroLength, errno::EINVAL));
}

#[test]
fn length_overflowing_or_larger_than_the_user_space_is_enomem() {
    let mut t = linux();
    for len in [u64::MAX, u64::MAX - P + 2, USER_TOP + 1, 1 << 63] {
        let e = t.map(&MapRequest::anon(len, Prot::RW)).unwrap_err();
        assert_eq!(e.errno(), errno::ENOMEM, "{len:#x}");
    }
}

#[test]
fn fixed_address_checks_follow_linux() {
    let mut t = linux();
    let r = MapRequest::anon(P, Prot::RW);
    assert_eq!(t.map(&fixed(r, X + 1)).unwrap_err().errno(), errno::EINVAL);
    assert_eq!(
        t.map(&fixed(r, USER_TOP)).unwrap_err().errno(),
        errno::ENOMEM
    );
    assert_eq!(t.map(&fixed(r, !0xfff)).unwrap_err().errno(), errno::ENOMEM);
    assert_eq!(
        t.map(&fixed(r, USER_TOP + 1)).unwrap_err().errno(),
        errno::ENOMEM,
        "the range check comes before the alignment check"
    );
    assert_eq!(t.map(&fixed(r, 0x1000)).unwrap_err(), Error::BelowMinAddr);
    assert_eq!(Error::BelowMinAddr.errno(), errno::EPERM);
    assert_eq!(t.map(&fixed(r, USER_TOP - P)).unwrap().addr, USER_TOP - P);
    assert_eq!(t.map(&fixed(r, 0x10000)).unwrap().addr, 0x10000);
}

#[test]
fn fixed_replaces_what_is_there_and_reports_it() {
    let mut t = linux();
    t.map(&fixed(MapRequest::file(1, 0, 4 * P, Prot::RX), X))
        .unwrap();
    let m = t
        .map(&fixed(MapRequest::anon(2 * P, Prot::RW), X + P))
        .unwrap();
    assert_eq!(m.replaced, [file(X + P, X + 3 * P, Prot::RX, 1, P)]);
    let v: Vec<Vma> = t.iter().copied().collect();
    assert_eq!(
        v,
        [
            file(X, X + P, Prot::RX, 1, 0),
            anon(X + P, X + 3 * P, Prot::RW),
            file(X + 3 * P, X + 4 * P, Prot::RX, 1, 3 * P),
        ]
    );
}

#[test]
fn fixed_noreplace_over_a_mapping_is_eexist() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(P, Prot::RW), X + P)).unwrap();
    let r = MapRequest::anon(2 * P, Prot::READ);
    let e = t.map(&r.at(X, Placement::FixedNoReplace)).unwrap_err();
    assert_eq!((e, e.errno()), (Error::Exists, errno::EEXIST));
    assert_eq!(
        t.map(&r.at(X - 2 * P, Placement::FixedNoReplace))
            .unwrap()
            .addr,
        X - 2 * P
    );
    assert_eq!(
        t.map(&r.at(X + 5, Placement::FixedNoReplace))
            .unwrap_err()
            .errno(),
        errno::EINVAL
    );
}

#[test]
fn file_offset_must_be_aligned_and_stay_below_the_largest() {
    let mut t = linux();
    let e = t.map(&MapRequest::file(1, 100, P, Prot::READ)).unwrap_err();
    assert_eq!(e.errno(), errno::EINVAL);
    let last = (i64::MAX as u64 + 1) - 2 * P;
    let e = t
        .map(&MapRequest::file(1, last, 3 * P, Prot::READ))
        .unwrap_err();
    assert_eq!((e, e.errno()), (Error::Overflow, errno::EOVERFLOW));
    t.map(&MapRequest::file(1, last, P, Prot::READ)).unwrap();
}

#[test]
fn protection_beyond_max_prot_is_eacces() {
    let mut t = linux();
    let r = MapRequest {
        max_prot: Prot::RX,
        ..MapRequest::file(1, 0, P, Prot::RW)
    };
    assert_eq!(t.map(&r).unwrap_err().errno(), errno::EACCES);
}

#[test]
fn only_private_anonymous_mappings_grow_down() {
    let mut t = linux();
    let shared = MapRequest::anon(P, Prot::RW).with_flags(VmFlags::SHARED | VmFlags::GROWS_DOWN);
    assert_eq!(t.map(&shared).unwrap_err(), Error::InvalidFlags);
    let f = MapRequest::file(1, 0, P, Prot::RW).with_flags(VmFlags::GROWS_DOWN);
    assert_eq!(t.map(&f).unwrap_err(), Error::InvalidFlags);
}

// ---------------------------------------------------------------- merging and the bound

#[test]
fn adjacent_compatible_mappings_are_one_vma() {
    let mut t = linux();
    t.map(&MapRequest::anon(3 * P, Prot::RW)).unwrap();
    t.map(&MapRequest::anon(2 * P, Prot::RW)).unwrap();
    assert_eq!(spans(&t), [(BASE - 5 * P, BASE)]);
}

#[test]
fn file_mappings_merge_only_at_contiguous_offsets() {
    let mut t = linux();
    t.map(&fixed(MapRequest::file(1, 0, 2 * P, Prot::READ), X))
        .unwrap();
    t.map(&fixed(
        MapRequest::file(1, 2 * P, 2 * P, Prot::READ),
        X + 2 * P,
    ))
    .unwrap();
    assert_eq!(spans(&t), [(X, X + 4 * P)]);
    t.map(&fixed(MapRequest::file(1, 0, P, Prot::READ), X + 4 * P))
        .unwrap();
    t.map(&fixed(MapRequest::file(2, 5 * P, P, Prot::READ), X + 5 * P))
        .unwrap();
    assert_eq!(t.len(), 3);
}

#[test]
fn shared_and_private_do_not_merge() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(P, Prot::RW), X)).unwrap();
    t.map(&fixed(
        MapRequest::anon(P, Prot::RW).with_flags(VmFlags::SHARED),
        X + P,
    ))
    .unwrap();
    assert_eq!(t.len(), 2);
}

#[test]
fn max_map_count_bounds_the_vmas() {
    let mut t = VmaTree::new(Layout::linux(STACK_RLIMIT, None), 3);
    let r = MapRequest::anon(4 * P, Prot::RW);
    for i in 0..3 {
        t.map(&fixed(r, X + i * 8 * P)).unwrap();
    }
    let e = t.map(&fixed(r, X + 24 * P)).unwrap_err();
    assert_eq!((e, e.errno()), (Error::MapCount, errno::ENOMEM));
    t.map(&fixed(r, X + 4 * P)).unwrap();
    assert_eq!(
        t.len(),
        2,
        "a mapping that merges is allowed and joins two vmas"
    );
    assert_eq!(t.unmap(X + 24 * P, P), Ok(vec![]));
    t.map(&fixed(r, X + 30 * P)).unwrap();
    assert_eq!(
        t.unmap(X + P, P).unwrap_err(),
        Error::MapCount,
        "a split past the bound"
    );
    assert_eq!(
        t.protect(X + P, P, Prot::READ).unwrap_err().error,
        Error::MapCount
    );
    assert_eq!(t.len(), 3);
    t.verify().unwrap();
    assert_eq!(
        t.unmap(X + 16 * P, 4 * P).unwrap().len(),
        1,
        "removing a whole vma"
    );
}

// ---------------------------------------------------------------- munmap

#[test]
fn munmap_splits_and_returns_the_pieces_with_offsets() {
    let mut t = linux();
    t.map(&fixed(MapRequest::file(3, 8 * P, 6 * P, Prot::READ), X))
        .unwrap();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X + 6 * P))
        .unwrap();
    let removed = t.unmap(X + 2 * P, 5 * P).unwrap();
    assert_eq!(
        removed,
        [
            file(X + 2 * P, X + 6 * P, Prot::READ, 3, 10 * P),
            anon(X + 6 * P, X + 7 * P, Prot::RW),
        ]
    );
    assert_eq!(spans(&t), [(X, X + 2 * P), (X + 7 * P, X + 8 * P)]);
}

#[test]
fn munmap_of_nothing_succeeds() {
    let mut t = linux();
    assert_eq!(t.unmap(X, 100 * P), Ok(vec![]));
}

#[test]
fn munmap_argument_checks_are_einval() {
    let mut t = linux();
    for (a, l) in [
        (X + 1, P),
        (USER_TOP + P, P),
        (X, USER_TOP - X + 1),
        (X, u64::MAX),
        (X, 0),
    ] {
        assert_eq!(
            t.unmap(a, l).unwrap_err().errno(),
            errno::EINVAL,
            "{a:#x} {l:#x}"
        );
    }
    assert_eq!(t.unmap(USER_TOP - P, P), Ok(vec![]));
    assert_eq!(t.unmap(0, USER_TOP), Ok(vec![]));
}

// ---------------------------------------------------------------- mprotect

#[test]
fn mprotect_splits_and_merges_back() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(6 * P, Prot::RW), X)).unwrap();
    t.protect(X + 2 * P, 2 * P, Prot::READ).unwrap();
    assert_eq!(
        spans(&t),
        [
            (X, X + 2 * P),
            (X + 2 * P, X + 4 * P),
            (X + 4 * P, X + 6 * P)
        ]
    );
    t.protect(X + 2 * P, 2 * P - 1, Prot::RW).unwrap();
    assert_eq!(spans(&t), [(X, X + 6 * P)]);
}

#[test]
fn mprotect_stops_at_a_hole_with_the_part_before_changed() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X)).unwrap();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X + 3 * P))
        .unwrap();
    let e = t.protect(X + P, 4 * P, Prot::READ).unwrap_err();
    assert_eq!(
        e,
        Partial {
            error: Error::Unmapped,
            done: X + P..X + 2 * P
        }
    );
    assert_eq!(e.errno(), errno::ENOMEM);
    assert_eq!(t.find(X + P).unwrap().prot, Prot::READ);
    assert_eq!(
        t.find(X + 3 * P).unwrap().prot,
        Prot::RW,
        "nothing after the hole"
    );
}

#[test]
fn mprotect_starting_in_a_hole_changes_nothing() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X)).unwrap();
    let e = t.protect(X - P, 3 * P, Prot::READ).unwrap_err();
    assert_eq!((e.error, e.done), (Error::Unmapped, X - P..X - P));
    assert_eq!(t.find(X).unwrap().prot, Prot::RW);
}

#[test]
fn mprotect_with_a_trailing_hole_changes_the_mapped_part() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X)).unwrap();
    let e = t.protect(X, 5 * P, Prot::NONE).unwrap_err();
    assert_eq!((e.error, e.done), (Error::Unmapped, X..X + 2 * P));
    assert_eq!(t.find(X + P).unwrap().prot, Prot::NONE);
}

#[test]
fn mprotect_stops_with_eacces_at_a_vma_that_may_not_have_it() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X)).unwrap();
    let ro_shared = MapRequest {
        max_prot: Prot::RX,
        ..MapRequest::file(1, 0, 2 * P, Prot::READ).with_flags(VmFlags::SHARED)
    };
    t.map(&fixed(ro_shared, X + 2 * P)).unwrap();
    let e = t.protect(X, 4 * P, Prot::RW | Prot::EXEC).unwrap_err();
    assert_eq!((e.error, e.done.clone()), (Error::Denied, X..X + 2 * P));
    assert_eq!(e.errno(), errno::EACCES);
    assert_eq!(t.find(X).unwrap().prot, Prot::RWX);
    assert_eq!(t.find(X + 2 * P).unwrap().prot, Prot::READ);
    t.protect(X + 2 * P, 2 * P, Prot::RX).unwrap();
}

#[test]
fn mprotect_length_zero_succeeds_and_bad_arguments_fail() {
    let mut t = linux();
    assert_eq!(t.protect(X, 0, Prot::READ), Ok(()));
    assert_eq!(
        t.protect(X + 1, P, Prot::READ).unwrap_err().errno(),
        errno::EINVAL
    );
    assert_eq!(
        t.protect(X, u64::MAX, Prot::READ).unwrap_err().errno(),
        errno::ENOMEM,
        "a wrapping length"
    );
}

// ---------------------------------------------------------------- mremap

#[test]
fn mremap_shrinks_in_place_and_frees_the_tail() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(4 * P, Prot::RW), X)).unwrap();
    let r = t.remap(X, 4 * P, P + 1, STAY, 0).unwrap();
    assert_eq!(
        r,
        Remap {
            addr: X,
            moved: None,
            freed: vec![anon(X + 2 * P, X + 4 * P, Prot::RW)]
        }
    );
    assert_eq!(spans(&t), [(X, X + 2 * P)]);
}

#[test]
fn mremap_shrink_unmaps_whatever_is_in_the_tail() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(P, Prot::RW), X)).unwrap();
    t.map(&fixed(MapRequest::anon(P, Prot::READ), X + 2 * P))
        .unwrap();
    let r = t.remap(X, 4 * P, P, STAY, 0).unwrap();
    assert_eq!(
        r.freed,
        [anon(X + 2 * P, X + 3 * P, Prot::READ)],
        "as munmap would"
    );
}

#[test]
fn mremap_to_the_same_length_changes_nothing() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(4 * P, Prot::RW), X)).unwrap();
    assert_eq!(t.remap(X + P, 2 * P, 2 * P, STAY, 0).unwrap().addr, X + P);
    assert_eq!(spans(&t), [(X, X + 4 * P)]);
}

#[test]
fn mremap_grows_in_place_when_the_pages_after_are_free() {
    let mut t = linux();
    t.map(&fixed(MapRequest::file(2, 4 * P, 2 * P, Prot::READ), X))
        .unwrap();
    let r = t.remap(X, 2 * P, 5 * P, STAY, 0).unwrap();
    assert_eq!((r.addr, r.moved), (X, None));
    let v: Vec<Vma> = t.iter().copied().collect();
    assert_eq!(
        v,
        [file(X, X + 5 * P, Prot::READ, 2, 4 * P)],
        "offsets continue"
    );
}

#[test]
fn mremap_that_cannot_grow_in_place_is_enomem_without_maymove() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X)).unwrap();
    t.map(&fixed(MapRequest::anon(P, Prot::READ), X + 3 * P))
        .unwrap();
    let e = t.remap(X, 2 * P, 4 * P, STAY, 0).unwrap_err();
    assert_eq!((e, e.errno()), (Error::NoSpace, errno::ENOMEM));
    let e = t.remap(X, P, 2 * P, STAY, 0).unwrap_err();
    assert_eq!(
        e,
        Error::NoSpace,
        "a range not reaching the vma's end cannot grow in place"
    );
}

#[test]
fn mremap_moves_when_allowed() {
    let mut t = linux();
    t.map(&fixed(MapRequest::file(2, 4 * P, 3 * P, Prot::RW), X))
        .unwrap();
    t.map(&fixed(MapRequest::anon(P, Prot::READ), X + 3 * P))
        .unwrap();
    let r = t.remap(X + P, 2 * P, 5 * P, MOVE, 0).unwrap();
    let to = BASE - 5 * P;
    assert_eq!(r.addr, to);
    assert_eq!(
        r.moved,
        Some(lego_mm::Move {
            from: X + P,
            to,
            len: 2 * P
        })
    );
    assert!(r.freed.is_empty());
    let v: Vec<Vma> = t.iter().copied().collect();
    assert_eq!(
        v,
        [
            file(X, X + P, Prot::RW, 2, 4 * P),
            anon(X + 3 * P, X + 4 * P, Prot::READ),
            file(to, BASE, Prot::RW, 2, 5 * P),
        ]
    );
}

#[test]
fn mremap_of_a_range_not_inside_one_vma_is_efault() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X)).unwrap();
    let e = t.remap(X + 4 * P, P, 2 * P, MOVE, 0).unwrap_err();
    assert_eq!((e, e.errno()), (Error::BadAddress, errno::EFAULT));
    assert_eq!(
        t.remap(X, 3 * P, 4 * P, MOVE, 0).unwrap_err(),
        Error::BadAddress
    );
    assert_eq!(
        t.remap(X + 4 * P, 2 * P, P, MOVE, 0).unwrap_err(),
        Error::BadAddress
    );
}

#[test]
fn mremap_fixed_moves_and_replaces_the_destination() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(4 * P, Prot::RW), X)).unwrap();
    t.map(&fixed(MapRequest::anon(8 * P, Prot::READ), X + 16 * P))
        .unwrap();
    let r = t.remap(X, 4 * P, 2 * P, FIXED, X + 17 * P).unwrap();
    assert_eq!(r.addr, X + 17 * P);
    assert_eq!(
        r.freed,
        [
            anon(X + 17 * P, X + 19 * P, Prot::READ),
            anon(X + 2 * P, X + 4 * P, Prot::RW)
        ],
        "the destination, then the shrunk tail"
    );
    assert_eq!(r.moved.unwrap().len, 2 * P);
    assert_eq!(
        spans(&t),
        [
            (X + 16 * P, X + 17 * P),
            (X + 17 * P, X + 19 * P),
            (X + 19 * P, X + 24 * P)
        ]
    );
}

#[test]
fn mremap_fixed_argument_checks() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(4 * P, Prot::RW), X)).unwrap();
    let no_move = RemapFlags {
        may_move: false,
        fixed: true,
    };
    assert_eq!(
        t.remap(X, P, P, no_move, X + 8 * P).unwrap_err(),
        Error::InvalidFlags
    );
    assert_eq!(
        t.remap(X, P, P, FIXED, X + 8 * P + 1).unwrap_err(),
        Error::Unaligned
    );
    assert_eq!(
        t.remap(X, 2 * P, 2 * P, FIXED, X + P).unwrap_err(),
        Error::InvalidRange
    );
    assert_eq!(
        t.remap(X, P, 2 * P, FIXED, USER_TOP - P)
            .unwrap_err()
            .errno(),
        errno::EINVAL
    );
    assert_eq!(
        t.remap(X, P, P, FIXED, 0x1000).unwrap_err(),
        Error::BelowMinAddr
    );
    assert_eq!(
        t.remap(X, 5 * P, P, FIXED, X + 8 * P).unwrap().addr,
        X + 8 * P
    );
}

#[test]
fn failed_mremap_changes_nothing() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X)).unwrap();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::READ), X + 8 * P))
        .unwrap();
    let before: Vec<Vma> = t.iter().copied().collect();
    assert_eq!(
        t.remap(X, 3 * P, 4 * P, FIXED, X + 8 * P).unwrap_err(),
        Error::BadAddress
    );
    let after: Vec<Vma> = t.iter().copied().collect();
    assert_eq!(
        before, after,
        "Linux would have unmapped the destination already"
    );
}

#[test]
fn mremap_lengths_and_address_checks_are_einval() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X)).unwrap();
    assert_eq!(t.remap(X, P, 0, MOVE, 0).unwrap_err(), Error::ZeroLength);
    assert_eq!(
        t.remap(X, P, u64::MAX, MOVE, 0).unwrap_err(),
        Error::ZeroLength
    );
    assert_eq!(t.remap(X + 1, P, P, MOVE, 0).unwrap_err(), Error::Unaligned);
    assert_eq!(
        t.remap(X, 0, 2 * P, MOVE, 0).unwrap_err(),
        Error::InvalidRange
    );
}

#[test]
fn mremap_growth_of_a_file_past_the_largest_offset_is_einval() {
    let mut t = linux();
    let last = (i64::MAX as u64 + 1) - 3 * P;
    t.map(&fixed(MapRequest::file(1, last, 2 * P, Prot::READ), X))
        .unwrap();
    assert_eq!(
        t.remap(X, 2 * P, 3 * P, MOVE, 0).unwrap_err().errno(),
        errno::EINVAL
    );
    assert_eq!(t.remap(X, 2 * P, 2 * P, MOVE, 0).unwrap().addr, X);
}

// ---------------------------------------------------------------- madvise

#[test]
fn dontneed_returns_the_mapped_pieces() {
    let mut t = linux();
    t.map(&fixed(MapRequest::file(1, 0, 2 * P, Prot::RW), X))
        .unwrap();
    t.map(&fixed(MapRequest::anon(2 * P, Prot::RW), X + 2 * P))
        .unwrap();
    assert_eq!(
        t.advise_dontneed(X + P, 2 * P),
        Ok(vec![
            file(X + P, X + 2 * P, Prot::RW, 1, P),
            anon(X + 2 * P, X + 3 * P, Prot::RW)
        ])
    );
    assert_eq!(t.len(), 2, "the vmas stay");
}

#[test]
fn dontneed_over_holes_drops_every_mapped_piece_then_fails() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(P, Prot::RW), X + P)).unwrap();
    t.map(&fixed(MapRequest::anon(P, Prot::READ), X + 3 * P))
        .unwrap();
    let e = t.advise_dontneed(X, 5 * P).unwrap_err();
    assert_eq!(e.error.errno(), errno::ENOMEM);
    assert_eq!(
        e.done,
        [
            anon(X + P, X + 2 * P, Prot::RW),
            anon(X + 3 * P, X + 4 * P, Prot::READ)
        ]
    );
}

#[test]
fn dontneed_argument_checks() {
    let t = linux();
    assert_eq!(t.advise_dontneed(X, 0), Ok(vec![]));
    assert_eq!(
        t.advise_dontneed(X + 1, P).unwrap_err().errno(),
        errno::EINVAL
    );
    assert_eq!(
        t.advise_dontneed(X, u64::MAX).unwrap_err().errno(),
        errno::EINVAL
    );
    assert_eq!(
        t.advise_dontneed(!0xfff, 2 * P).unwrap_err().errno(),
        errno::EINVAL
    );
}

// ---------------------------------------------------------------- faults

#[test]
fn a_fault_outside_any_vma_is_maperr() {
    let mut t = linux();
    assert_eq!(t.classify(X, Access::Read), Err(Fault::MapErr));
    assert_eq!(t.classify(u64::MAX, Access::Read), Err(Fault::MapErr));
    assert_eq!(Fault::MapErr.si_code(), 1);
}

#[test]
fn access_checks_follow_x86_page_tables() {
    let mut t = linux();
    let cases = [
        (Prot::READ, [true, false, false]),
        (Prot::WRITE, [true, true, false]),
        (Prot::EXEC, [true, false, true]),
        (Prot::NONE, [false, false, false]),
        (Prot::RWX, [true, true, true]),
    ];
    for (i, (prot, allowed)) in cases.into_iter().enumerate() {
        let a = X + 2 * i as u64 * P;
        t.map(&fixed(MapRequest::anon(P, prot), a)).unwrap();
        for (access, ok) in [Access::Read, Access::Write, Access::Exec]
            .into_iter()
            .zip(allowed)
        {
            let r = t.classify(a + 10, access);
            assert_eq!(r.is_ok(), ok, "{prot:?} {access:?}");
            if !ok {
                assert_eq!(r.unwrap_err().si_code(), 2, "SEGV_ACCERR");
            }
        }
    }
}

#[test]
fn the_stack_grows_down_on_a_fault_below_it() {
    let mut t = linux();
    stack(&mut t, X, X + 4 * P);
    let h = t.classify(X - 3 * P + 8, Access::Write).unwrap();
    assert_eq!(h.grown, Some(X - 3 * P..X));
    assert_eq!((h.vma.start, h.vma.end), (X - 3 * P, X + 4 * P));
    assert_eq!(spans(&t), [(X - 3 * P, X + 4 * P)]);
}

#[test]
fn stack_growth_stops_at_the_rlimit() {
    let mut t = linux();
    stack(&mut t, X, X + 4 * P);
    let lowest = X + 4 * P - STACK_RLIMIT;
    assert_eq!(t.classify(lowest - 1, Access::Read), Err(Fault::MapErr));
    t.classify(lowest, Access::Read).unwrap();
    t.set_stack_limit(STACK_RLIMIT + P);
    t.classify(lowest - 1, Access::Read).unwrap();
}

#[test]
fn stack_growth_keeps_the_guard_gap_from_the_vma_below() {
    let mut t = linux();
    stack(&mut t, X, X + 4 * P);
    let below_end = X - 300 * P;
    t.map(&fixed(MapRequest::anon(P, Prot::READ), below_end - P))
        .unwrap();
    let limit = below_end + STACK_GUARD_GAP;
    assert_eq!(t.classify(limit - 1, Access::Read), Err(Fault::MapErr));
    assert_eq!(
        t.classify(limit, Access::Read).unwrap().grown,
        Some(limit..X)
    );
}

#[test]
fn stack_growth_ignores_a_prot_none_vma_below() {
    let mut t = linux();
    stack(&mut t, X, X + 4 * P);
    t.map(&fixed(MapRequest::anon(P, Prot::NONE), X - 3 * P))
        .unwrap();
    assert_eq!(
        t.classify(X - 2 * P, Access::Read).unwrap().grown,
        Some(X - 2 * P..X)
    );
}

#[test]
fn stack_growth_stays_when_the_access_is_refused() {
    let mut t = linux();
    stack(&mut t, X, X + 4 * P);
    assert_eq!(t.classify(X - P, Access::Exec), Err(Fault::AccErr));
    assert_eq!(spans(&t), [(X - P, X + 4 * P)]);
}

#[test]
fn only_grows_down_vmas_grow() {
    let mut t = linux();
    t.map(&fixed(MapRequest::anon(P, Prot::RW), X)).unwrap();
    assert_eq!(t.classify(X - 1, Access::Read), Err(Fault::MapErr));
}

#[test]
fn x86_error_codes_decode_to_accesses() {
    assert_eq!(Access::from_x86_error_code(0b00100), Access::Read);
    assert_eq!(Access::from_x86_error_code(0b00110), Access::Write);
    assert_eq!(Access::from_x86_error_code(0b10100), Access::Exec);
}

// ---------------------------------------------------------------- brk

fn brk_setup() -> (VmaTree, Brk, u64) {
    let mut t = linux();
    let end = 0x4c_5123;
    t.map(&fixed(MapRequest::anon(0x5123, Prot::RW), 0x4c_0000))
        .unwrap();
    let start = t.layout().brk_start(Image::Exec { end });
    assert_eq!(start, 0x4c_6000);
    (t, Brk::new(start, u64::MAX, 0), start)
}

#[test]
fn brk_zero_and_requests_below_the_start_return_the_current_break() {
    let (mut t, mut b, start) = brk_setup();
    assert_eq!(b.set(&mut t, 0).brk, start);
    assert_eq!(b.set(&mut t, start - 1).brk, start);
    assert_eq!(t.len(), 1);
}

#[test]
fn brk_growth_maps_anonymous_memory_merged_with_the_bss() {
    let (mut t, mut b, start) = brk_setup();
    let o = b.set(&mut t, start + 3 * P + 5);
    assert_eq!(
        o.brk,
        start + 3 * P + 5,
        "the exact value is returned and kept"
    );
    assert_eq!(o.grown, Some(start..start + 4 * P));
    assert_eq!(spans(&t), [(0x4c_0000, start + 4 * P)]);
    assert_eq!(b.current(), start + 3 * P + 5);
}

#[test]
fn brk_within_the_same_page_only_records_the_value() {
    let (mut t, mut b, start) = brk_setup();
    b.set(&mut t, start + 10);
    let o = b.set(&mut t, start + 20);
    assert_eq!((o.brk, o.grown, o.freed.len()), (start + 20, None, 0));
}

#[test]
fn brk_shrink_unmaps_and_reports_the_pages() {
    let (mut t, mut b, start) = brk_setup();
    b.set(&mut t, start + 4 * P);
    let o = b.set(&mut t, start + P + 1);
    assert_eq!(o.brk, start + P + 1);
    assert_eq!(o.freed, [anon(start + 2 * P, start + 4 * P, Prot::RW)]);
}

#[test]
fn brk_keeps_a_page_free_below_the_next_mapping() {
    let (mut t, mut b, start) = brk_setup();
    t.map(&fixed(MapRequest::anon(P, Prot::READ), start + 4 * P))
        .unwrap();
    assert_eq!(b.set(&mut t, start + 4 * P).brk, start, "would touch it");
    assert_eq!(
        b.set(&mut t, start + 3 * P + 1).brk,
        start,
        "no page left between"
    );
    assert_eq!(b.set(&mut t, start + 3 * P).brk, start + 3 * P);
}

#[test]
fn brk_keeps_the_guard_gap_below_a_stack() {
    let (mut t, mut b, start) = brk_setup();
    stack(&mut t, start + 300 * P, start + 304 * P);
    let top = start + 300 * P - STACK_GUARD_GAP - P;
    assert_eq!(b.set(&mut t, top + P).brk, start);
    assert_eq!(b.set(&mut t, top).brk, top);
}

#[test]
fn brk_obeys_the_data_limit_with_the_static_data() {
    let mut t = linux();
    let start = 0x60_0000;
    let mut b = Brk::new(start, 10 * P, 2 * P);
    assert_eq!(b.set(&mut t, start + 8 * P).brk, start + 8 * P);
    assert_eq!(b.set(&mut t, start + 8 * P + 1).brk, start + 8 * P);
    b.set_data_limit(u64::MAX);
    assert_eq!(b.set(&mut t, start + 9 * P).brk, start + 9 * P);
}

#[test]
fn brk_shrink_over_an_unmapped_heap_is_refused() {
    let (mut t, mut b, start) = brk_setup();
    b.set(&mut t, start + 4 * P);
    t.unmap(start, 4 * P).unwrap();
    assert_eq!(b.set(&mut t, start + P).brk, start + 4 * P);
}

#[test]
fn brk_past_the_user_space_is_refused() {
    let (mut t, mut b, start) = brk_setup();
    assert_eq!(b.set(&mut t, USER_TOP + 1).brk, start);
    assert_eq!(b.set(&mut t, u64::MAX).brk, start);
}

#[test]
fn static_pie_brk_starts_at_elf_et_dyn_base() {
    let l = Layout::linux(STACK_RLIMIT, None);
    assert_eq!(l.brk_start(Image::StaticPie), 0x5555_5555_5000);
}

// ---------------------------------------------------------------- the owner's part

#[test]
fn an_owner_installs_the_homes_view_of_its_vregion() {
    let mut home = linux();
    home.map(&fixed(MapRequest::anon(4 * P, Prot::RW), (1 << 30) - 2 * P))
        .unwrap();
    let region = 1u64 << 30..2 << 30;
    let part: Vec<Vma> = home.vmas_in(region.clone()).collect();
    assert_eq!(part, [anon(1 << 30, (1 << 30) + 2 * P, Prot::RW)]);
    let mut owner = linux();
    owner.install(region.clone(), &part).unwrap();
    assert_eq!(owner.mapped_bytes(0..u64::MAX), 2 * P);
    let bad = [anon(0, P, Prot::RW)];
    assert_eq!(owner.install(region, &bad), Err(Error::InvalidRange));
    let k = Kind::File { file: 1, offset: 3 };
    let unaligned = [Vma { kind: k, ..part[0] }];
    assert_eq!(
        owner.install(1 << 30..2 << 30, &unaligned),
        Err(Error::InvalidRange)
    );
}
