//! Tests: the image is read back the way a C library's `_start` reads it.

use super::*;
use proptest::prelude::*;

/// What `_start` sees.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    auxv: Vec<(u64, u64)>,
    /// Addresses of the strings, in order argv, envp.
    ptrs: Vec<u64>,
}

/// Reads the stack back from `rsp` like a libc start, checking every pointer stays in the image.
fn read_back(st: &InitialStack, top: u64) -> Seen {
    assert_eq!(st.rsp % 16, 0, "rsp must be 16-byte aligned at entry");
    assert_eq!(st.base % 4096, 0);
    assert!(st.base <= st.rsp && st.rsp < top);
    assert_eq!(st.bytes.len() as u64, top - st.base);
    assert!(
        st.bytes[..usize::try_from(st.rsp - st.base).unwrap()]
            .iter()
            .all(|&b| b == 0)
    );
    let word = |at: u64| {
        assert!(
            at >= st.rsp && at + 8 <= top,
            "word {at:#x} outside the stack"
        );
        let o = usize::try_from(at - st.base).unwrap();
        u64::from_le_bytes(st.bytes[o..o + 8].try_into().unwrap())
    };
    let cstr = |at: u64| {
        assert!(at >= st.rsp && at < top, "string {at:#x} outside the stack");
        let o = usize::try_from(at - st.base).unwrap();
        let len = st.bytes[o..]
            .iter()
            .position(|&b| b == 0)
            .expect("NUL-terminated");
        st.bytes[o..o + len].to_vec()
    };
    let argc = word(st.rsp);
    let mut at = st.rsp + 8;
    let mut seen = Seen {
        argv: vec![],
        envp: vec![],
        auxv: vec![],
        ptrs: vec![],
    };
    for _ in 0..argc {
        let p = word(at);
        seen.ptrs.push(p);
        seen.argv.push(cstr(p));
        at += 8;
    }
    assert_eq!(word(at), 0, "argv ends with NULL");
    at += 8;
    loop {
        let p = word(at);
        at += 8;
        if p == 0 {
            break;
        }
        seen.ptrs.push(p);
        seen.envp.push(cstr(p));
    }
    loop {
        let (k, v) = (word(at), word(at + 8));
        at += 16;
        if k == AT_NULL {
            break;
        }
        seen.auxv.push((k, v));
    }
    seen
}

fn aux(seen: &Seen, key: u64) -> u64 {
    let mut found = seen.auxv.iter().filter(|(k, _)| *k == key);
    let v = found
        .next()
        .unwrap_or_else(|| panic!("auxv has no {key}"))
        .1;
    assert!(found.next().is_none(), "auxv has {key} twice");
    v
}

fn test_aux() -> AuxInfo {
    AuxInfo {
        phdr: 0x40_0040,
        phent: 56,
        phnum: 8,
        entry: 0x40_1650,
        pagesz: 4096,
        flags: 0,
        uid: 1000,
        euid: 1001,
        gid: 100,
        egid: 101,
        secure: true,
        random: *b"0123456789abcdef",
        hwcap: 0x178b_fbff,
        hwcap2: 2,
        clktck: 100,
        minsigstksz: 3632,
    }
}

/// Builds and reads back, checking the layout is Linux's.
fn build_and_check(spec: &StackSpec<'_>) -> (InitialStack, Seen) {
    let st = build(spec).unwrap();
    let seen = read_back(&st, spec.top);
    let want_argv: Vec<Vec<u8>> = if spec.argv.is_empty() {
        vec![vec![]]
    } else {
        spec.argv.iter().map(|s| s.to_vec()).collect()
    };
    assert_eq!(seen.argv, want_argv);
    assert_eq!(
        seen.envp,
        spec.envp.iter().map(|s| s.to_vec()).collect::<Vec<_>>()
    );
    // Strings are contiguous: argv, envp, execfn, then 8 zero bytes at the top.
    let strings: Vec<&Vec<u8>> = seen.argv.iter().chain(&seen.envp).collect();
    for (i, p) in seen.ptrs.iter().enumerate().skip(1) {
        assert_eq!(*p, seen.ptrs[i - 1] + strings[i - 1].len() as u64 + 1);
    }
    let execfn = aux(&seen, AT_EXECFN);
    if let (Some(last), Some(s)) = (seen.ptrs.last(), strings.last()) {
        assert_eq!(execfn, last + s.len() as u64 + 1);
    }
    assert_eq!(execfn + spec.execfn.len() as u64 + 1, spec.top - 8);
    let o = |a: u64| usize::try_from(a - st.base).unwrap();
    assert_eq!(
        &st.bytes[o(execfn)..o(execfn) + spec.execfn.len()],
        spec.execfn
    );
    assert_eq!(&st.bytes[o(spec.top - 8)..], &[0; 8]);
    // The platform string and the random bytes sit between the vectors and the strings.
    let platform = aux(&seen, AT_PLATFORM);
    assert_eq!(&st.bytes[o(platform)..o(platform) + 7], b"x86_64\0");
    let random = aux(&seen, AT_RANDOM);
    assert_eq!(&st.bytes[o(random)..o(random) + 16], &spec.aux.random);
    assert_eq!(random + 16, platform);
    let first_string = seen.ptrs.first().copied().unwrap_or(execfn);
    assert!(platform + 7 <= first_string);
    let vectors_end =
        st.rsp + 8 * (1 + seen.ptrs.len() as u64 + 2 + 2 * (seen.auxv.len() as u64 + 1));
    assert!(vectors_end <= random && random - vectors_end < 16 + 8);
    // The values.
    let a = spec.aux;
    for (key, want) in [
        (AT_PHDR, a.phdr),
        (AT_PHENT, a.phent),
        (AT_PHNUM, a.phnum),
        (AT_PAGESZ, a.pagesz),
        (AT_BASE, 0),
        (AT_FLAGS, a.flags),
        (AT_ENTRY, a.entry),
        (AT_UID, u64::from(a.uid)),
        (AT_EUID, u64::from(a.euid)),
        (AT_GID, u64::from(a.gid)),
        (AT_EGID, u64::from(a.egid)),
        (AT_SECURE, u64::from(a.secure)),
        (AT_HWCAP, a.hwcap),
        (AT_HWCAP2, a.hwcap2),
        (AT_CLKTCK, a.clktck),
        (AT_MINSIGSTKSZ, a.minsigstksz),
    ] {
        assert_eq!(aux(&seen, key), want, "auxv type {key}");
    }
    assert!(
        seen.auxv
            .iter()
            .all(|(k, _)| *k != AT_SYSINFO_EHDR && *k != AT_NULL)
    );
    assert_eq!(seen.auxv, st.auxv);
    (st, seen)
}

#[test]
fn layout_is_linux_s() {
    let a = test_aux();
    let spec = StackSpec {
        top: 0x7fff_ffff_f000,
        argv: &[b"prog"],
        envp: &[b"A=1"],
        execfn: b"/prog",
        aux: &a,
        limits: StackLimits::LINUX,
    };
    let (st, seen) = build_and_check(&spec);
    // Strings: 15 bytes below the marker at ..eff8 -> ..efe9; aligned ..efe0; "x86_64\0" at
    // ..efd9; random at ..efc9; 45 words (argc, 2+2 pointers, 20 auxv pairs) below, aligned.
    assert_eq!(seen.ptrs, [0x7fff_ffff_efe9, 0x7fff_ffff_efee]);
    assert_eq!(aux(&seen, AT_PLATFORM), 0x7fff_ffff_efd9);
    assert_eq!(aux(&seen, AT_RANDOM), 0x7fff_ffff_efc9);
    assert_eq!(st.rsp, 0x7fff_ffff_ee60);
    assert_eq!(st.base, 0x7fff_ffff_e000);
    assert_eq!(st.auxv.len(), 19);
    assert_eq!(st.auxv[0], (AT_MINSIGSTKSZ, 3632));
}

#[test]
fn empty_argv_gets_an_empty_argv0() {
    let a = test_aux();
    let spec = StackSpec {
        top: 0x10_0000,
        argv: &[],
        envp: &[],
        execfn: b"x",
        aux: &a,
        limits: StackLimits::LINUX,
    };
    let (_, seen) = build_and_check(&spec);
    assert_eq!(seen.argv, [Vec::<u8>::new()]);
}

#[test]
fn limits_are_linux_s() {
    assert_eq!(StackLimits::LINUX.arg_limit(), 2 << 20);
    assert_eq!(
        StackLimits {
            rlimit_stack: 0,
            ..StackLimits::LINUX
        }
        .arg_limit(),
        ARG_MAX
    );
    assert_eq!(
        StackLimits {
            rlimit_stack: u64::MAX,
            ..StackLimits::LINUX
        }
        .arg_limit(),
        6 << 20
    );
    assert_eq!(StackLimits::default(), StackLimits::LINUX);

    let a = test_aux();
    let small = StackLimits {
        rlimit_stack: 0,
        ..StackLimits::LINUX
    };
    // Exactly at the limit: 1 argv pointer + the strings.
    // 8 (argv[0] pointer) + 2 ("p\0") + the filler with its NUL = ARG_MAX.
    let filler = vec![b'x'; usize::try_from(ARG_MAX).unwrap() - 8 - 2 - 1];
    let argv: [&[u8]; 1] = [&filler];
    let spec = StackSpec {
        top: 0x7fff_ffff_f000,
        argv: &argv,
        envp: &[],
        execfn: b"p",
        aux: &a,
        limits: small,
    };
    build_and_check(&spec);
    let spec = StackSpec {
        execfn: b"pp",
        ..spec
    };
    let err = build(&spec).unwrap_err();
    assert_eq!(
        err,
        StackError::TooBig {
            need: ARG_MAX + 1,
            limit: ARG_MAX
        }
    );
    assert_eq!(err.errno(), E2BIG);
    assert_eq!(
        err.to_string(),
        "argument list too long: 131073 bytes of arguments and environment, at most 131072"
    );
    // One string too long, whatever the total.
    let long = vec![b'y'; MAX_ARG_STRLEN];
    let envp: [&[u8]; 1] = [&long];
    let spec = StackSpec {
        envp: &envp,
        limits: StackLimits::LINUX,
        ..spec
    };
    let err = build(&spec).unwrap_err();
    assert_eq!(
        err,
        StackError::StringTooLong {
            len: MAX_ARG_STRLEN + 1,
            max: MAX_ARG_STRLEN
        }
    );
    assert_eq!(err.errno(), E2BIG);
}

#[test]
fn bad_inputs_are_refused() {
    let a = test_aux();
    let spec = StackSpec {
        top: 0x7fff_ffff_f000,
        argv: &[b"a\0b"],
        envp: &[],
        execfn: b"p",
        aux: &a,
        limits: StackLimits::LINUX,
    };
    assert_eq!(build(&spec), Err(StackError::InteriorNul));
    assert_eq!(build(&spec).unwrap_err().errno(), EINVAL);
    let spec = StackSpec {
        argv: &[b"a"],
        top: 0x7fff_ffff_f008,
        ..spec
    };
    assert_eq!(build(&spec), Err(StackError::BadTop(0x7fff_ffff_f008)));
    let spec = StackSpec {
        top: 0x8000_0000_0000,
        ..spec
    };
    assert_eq!(
        build(&spec).unwrap_err().to_string(),
        "stack top 0x800000000000 is not a 16-byte aligned user address"
    );
    let spec = StackSpec {
        top: MIN_ADDR + 0x100,
        ..spec
    };
    assert_eq!(build(&spec), Err(StackError::NoRoom));
    assert_eq!(build(&spec).unwrap_err().errno(), ENOMEM);
}

/// Strings without NUL bytes.
fn string(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn random_arguments_read_back(
        argv in prop::collection::vec(string(40), 0..8),
        envp in prop::collection::vec(string(40), 0..8),
        execfn in string(60),
        top in (0x20_0000u64..USER_END).prop_map(|t| t & !15),
        random in any::<[u8; 16]>(),
    ) {
        let a = AuxInfo { random, ..test_aux() };
        let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let envp: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
        let spec = StackSpec {
            top,
            argv: &argv,
            envp: &envp,
            execfn: &execfn,
            aux: &a,
            limits: StackLimits::LINUX,
        };
        build_and_check(&spec);
    }

    /// Against a model of Linux's rules, with small and large strings; never panics on any input.
    #[test]
    fn limits_follow_the_model(
        argv in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..6),
        mut envp in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..6),
        execfn in prop::collection::vec(any::<u8>(), 0..300),
        big in 0usize..4,
        max_arg_strlen in prop_oneof![0usize..400, Just(MAX_ARG_STRLEN)],
        rlimit_stack in prop_oneof![Just(0u64), Just(STK_LIM), any::<u64>()],
        top in prop_oneof![
            any::<u64>(),
            (MIN_ADDR..0x100_0000u64).prop_map(|t| t & !15),
            Just(USER_END),
        ],
    ) {
        // Strings of 50 000 bytes reach the 128 KiB floor of the limit with three of them.
        envp.extend((0..big).map(|i| vec![b'a' + i as u8; 50_000]));
        let a = test_aux();
        let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let envp: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
        let limits = StackLimits { rlimit_stack, max_arg_strlen };
        let spec = StackSpec { top, argv: &argv, envp: &envp, execfn: &execfn, aux: &a, limits };
        let got = build(&spec);

        let argv_eff: Vec<&[u8]> = if argv.is_empty() { vec![b""] } else { argv.clone() };
        let all: Vec<&[u8]> = core::iter::once(execfn.as_slice())
            .chain(envp.iter().copied())
            .chain(argv_eff.iter().copied())
            .collect();
        let need = all.iter().map(|s| s.len() as u64 + 1).sum::<u64>()
            + 8 * (argv_eff.len() + envp.len()) as u64;
        let limit = limits.arg_limit();
        let first_bad = all.iter().find(|s| s.contains(&0) || s.len() + 1 > max_arg_strlen);
        let expected_err = if !top.is_multiple_of(16) || !(MIN_ADDR..=USER_END).contains(&top) {
            Some(StackError::BadTop(top))
        } else if let Some(s) = first_bad {
            Some(if s.contains(&0) {
                StackError::InteriorNul
            } else {
                StackError::StringTooLong { len: s.len() + 1, max: max_arg_strlen }
            })
        } else if need > limit {
            Some(StackError::TooBig { need, limit })
        } else {
            None
        };
        match (expected_err, got) {
            (Some(want), got) => prop_assert_eq!(got, Err(want)),
            (None, Ok(st)) => {
                read_back(&st, top);
            }
            (None, Err(e)) => prop_assert!(
                e == StackError::NoRoom && top < MIN_ADDR + need + 0x1000,
                "{e:?} at top {top:#x}"
            ),
        }
    }
}
