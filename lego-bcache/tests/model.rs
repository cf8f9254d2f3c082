//! Random operation sequences on a tiny cache (4-16 frames) over three files in two vNodes,
//! against a plain model of the file contents, with injected backend failures (transient and
//! permanent), storage restarts and a disk of limited blocks with reservations.
//!
//! After every operation: the cache's invariants hold, it never uses more frames than it has,
//! its size and a read of the touched file equal the model; after every successful fsync,
//! forget or sync, the backend's durable contents equal the model. A file whose write-back
//! failed for good, or whose unsynced write-backs a restart lost, is *tainted* (its contents
//! are unknown until it is truncated to zero or recreated) and *owes* an error: its next fsync
//! (or forget with write-back) must fail, once, and nothing else may fail because of it. At
//! the end, with failures cleared, every file that owes nothing is durable and equal to the
//! model: nothing lost, nothing invented.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::{P, cache, pattern};
use lego_bcache::testing::{MemBackend, MemError};
use lego_bcache::{Cache, Config, Error, FileKey, PAGE};
use proptest::prelude::*;

const FILES: [FileKey<'static>; 3] = [
    FileKey {
        vnode: 1,
        path: "/a",
    },
    FileKey {
        vnode: 1,
        path: "/b",
    },
    FileKey {
        vnode: 2,
        path: "/a",
    },
];
const MAX_OFF: u64 = 10 * P;
const MAX_LEN: usize = 3 * PAGE;

#[derive(Clone, Debug)]
enum Op {
    Read(usize, u64, usize),
    Write(usize, u64, usize, u8),
    Truncate(usize, u64),
    Fsync(usize),
    Forget(usize, bool),
    SyncAll,
    DropAll,
    /// Write-behind of up to n pages.
    WriteBack(usize),
    /// Up to n of a file's lowest dirty pages written back.
    FlushSome(usize, usize),
    /// Sets the failure rate (per mille) of every backend call; 0 heals.
    Faults(u32),
    /// Fails the next n backend calls.
    FailNext(u32),
    /// Sets the rate (per mille) of writes failing for good (no space); 0 heals.
    NoSpace(u32),
    /// The storage components restart.
    Restart,
}

/// Which trouble a run may see.
#[derive(Clone, Copy, Debug, Default)]
struct Mode {
    transient: bool,
    permanent: bool,
    restarts: bool,
    /// A disk of limited blocks with reservations.
    limited: bool,
}

/// Offsets and lengths biased to page boundaries, where the interesting cases are.
fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        (0..MAX_OFF / P).prop_map(|p| p * P),
        (0..MAX_OFF / P, prop_oneof![Just(1u64), Just(P - 1), 0..P]).prop_map(|(p, o)| p * P + o),
        0..MAX_OFF,
    ]
}

fn length() -> impl Strategy<Value = usize> {
    prop_oneof![
        (1..=MAX_LEN / PAGE).prop_map(|p| p * PAGE),
        1..=MAX_LEN,
        1..64usize,
    ]
}

fn op(m: Mode) -> impl Strategy<Value = Op> {
    let f = 0..FILES.len();
    let mut v: Vec<(u32, BoxedStrategy<Op>)> = vec![
        (
            6,
            (f.clone(), offset(), length())
                .prop_map(|(f, o, l)| Op::Read(f, o, l))
                .boxed(),
        ),
        (
            8,
            (f.clone(), offset(), length(), any::<u8>())
                .prop_map(|(f, o, l, s)| Op::Write(f, o, l, s))
                .boxed(),
        ),
        (
            2,
            (f.clone(), offset())
                .prop_map(|(f, s)| Op::Truncate(f, s))
                .boxed(),
        ),
        (2, f.clone().prop_map(Op::Fsync).boxed()),
        (
            1,
            (f.clone(), any::<bool>())
                .prop_map(|(f, w)| Op::Forget(f, w))
                .boxed(),
        ),
        (1, Just(Op::SyncAll).boxed()),
        (1, Just(Op::DropAll).boxed()),
        (1, (1..8usize).prop_map(Op::WriteBack).boxed()),
        (
            1,
            (f, 1..8usize)
                .prop_map(|(f, n)| Op::FlushSome(f, n))
                .boxed(),
        ),
    ];
    if m.transient {
        v.push((
            1,
            prop_oneof![Just(0u32), 50..400u32]
                .prop_map(Op::Faults)
                .boxed(),
        ));
        v.push((1, (1..4u32).prop_map(Op::FailNext).boxed()));
    }
    if m.permanent {
        v.push((
            1,
            prop_oneof![Just(0u32), 100..600u32]
                .prop_map(Op::NoSpace)
                .boxed(),
        ));
    }
    if m.restarts {
        v.push((1, Just(Op::Restart).boxed()));
    }
    prop::strategy::Union::new_weighted(v)
}

#[derive(Clone, Debug)]
struct Setup {
    frames: usize,
    max_io_pages: usize,
    readahead: u32,
    initial: u32,
    contents: Vec<usize>,
    /// Blocks of the disk (with `Mode::limited`) and reservation batch.
    blocks: u64,
    batch: u32,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        4..=16usize,
        1..=4usize,
        0..=8u32,
        1..=4u32,
        prop::collection::vec(0..8 * PAGE, FILES.len()),
        20..60u64,
        1..8u32,
    )
        .prop_map(
            |(frames, max_io_pages, readahead, initial, contents, blocks, batch)| Setup {
                frames,
                max_io_pages,
                readahead,
                initial,
                contents,
                blocks,
                batch,
            },
        )
}

#[derive(Clone, Copy, Debug, Default)]
struct Known {
    /// Contents unknown (a write-back failed for good, or a restart lost some).
    tainted: bool,
    /// The next fsync must fail.
    owes: bool,
    /// The next fsync may fail with `Lost` (a restart found nothing lost at the storage, but
    /// the cache may have written back identical bytes).
    may_lose: bool,
}

struct Run {
    mode: Mode,
    cache: Cache,
    b: MemBackend,
    model: Vec<Vec<u8>>,
    known: [Known; 3],
    /// Entries of `b.permanent_failures` already seen.
    seen: usize,
}

fn index_of(vnode: u32, path: &str) -> Option<usize> {
    FILES
        .iter()
        .position(|f| f.vnode == vnode && f.path == path)
}

impl Run {
    fn new(s: &Setup, mode: Mode) -> Run {
        let mut b = MemBackend::new(s.max_io_pages * PAGE);
        let mut model = Vec::new();
        for (i, f) in FILES.iter().enumerate() {
            let data = pattern(s.contents[i], i as u8 + 100);
            b.create(f.vnode, f.path, &data);
            model.push(data);
        }
        if mode.limited {
            let used = b.used(0);
            b.limit(0, used + s.blocks);
        }
        let cache = cache(
            s.frames,
            Config {
                readahead_pages: s.readahead,
                readahead_initial: s.initial,
                max_idle_files: 1,
                reserve_batch: s.batch,
                writeback_file_pages: 4,
                writeback_percent: 50,
                writeback_sync_pages: 3,
                ..Config::default()
            },
        );
        Run {
            mode,
            cache,
            b,
            model,
            known: [Known::default(); 3],
            seen: 0,
        }
    }

    fn faulty(&self) -> bool {
        self.b.fail_per_mille > 0 || self.b.fail_next > 0
    }

    fn durable(&self, i: usize) -> &[u8] {
        self.b.durable(FILES[i].vnode, FILES[i].path)
    }

    /// Files whose write-back failed for good during the last operation: tainted, owing.
    fn note_failures(&mut self) {
        for (v, p) in &self.b.permanent_failures[self.seen..] {
            if let Some(i) = index_of(*v, p) {
                self.known[i].tainted = true;
                self.known[i].owes = true;
            }
        }
        self.seen = self.b.permanent_failures.len();
    }

    /// Whether `e` is a transient failure the current injection explains.
    fn transient_ok(&self, faulty: bool, e: Error<MemError>) -> bool {
        faulty && e == Error::Backend(MemError::Injected)
    }

    /// An fsync-like result for file `i` (fsync, forget with write-back): an error only if
    /// transient or owed, and success only if nothing is owed.
    fn reported(
        &mut self,
        i: usize,
        faulty: bool,
        r: Result<(), Error<MemError>>,
    ) -> Result<bool, TestCaseError> {
        match r {
            Ok(()) => {
                prop_assert!(!self.known[i].owes, "file {} owed an error", i);
                self.known[i].may_lose = false;
                Ok(true)
            }
            Err(e) if self.transient_ok(faulty, e) => Ok(false),
            Err(e) => {
                let k = self.known[i];
                let owed = k.owes || (k.may_lose && e == Error::Lost);
                prop_assert!(owed, "file {}: unexpected {:?} ({:?})", i, e, k);
                self.known[i].owes = false;
                self.known[i].may_lose = false;
                Ok(false)
            }
        }
    }

    /// Applies `op` to the cache and the model; returns the file to check (if one).
    fn apply(&mut self, op: &Op) -> Result<Option<usize>, TestCaseError> {
        let faulty = self.faulty();
        let limited = self.mode.limited;
        let (c, b) = (&mut self.cache, &mut self.b);
        // Only injected transient failures (or no space, on a limited disk, for writes) may
        // fail an operation; a permanent failure never fails another file's operation.
        let plain_err = |e: Error<MemError>, write: bool| -> Result<(), TestCaseError> {
            let ok = (faulty && e == Error::Backend(MemError::Injected))
                || (write && limited && e == Error::NoSpace);
            prop_assert!(ok, "{:?}", e);
            Ok(())
        };
        match *op {
            Op::Read(i, off, len) => {
                let mut buf = vec![0u8; len];
                let r = c.read(b, FILES[i], off, &mut buf);
                self.note_failures();
                match r {
                    Ok(n) if !self.known[i].tainted => {
                        let m = &self.model[i];
                        let want = m.get(off as usize..).unwrap_or(&[]);
                        let want = &want[..want.len().min(len)];
                        prop_assert_eq!(&buf[..n], want);
                    }
                    Ok(_) => {}
                    Err(e) => plain_err(e, false)?,
                }
                Ok(Some(i))
            }
            Op::Write(i, off, len, seed) => {
                let data = pattern(len, seed);
                let r = c.write(b, FILES[i], off, &data);
                self.note_failures();
                match r {
                    Ok(n) => {
                        prop_assert!(
                            n == len || ((faulty || limited) && n > 0),
                            "short write {} of {}",
                            n,
                            len
                        );
                        let m = &mut self.model[i];
                        let end = off as usize + n;
                        if m.len() < end {
                            m.resize(end, 0);
                        }
                        m[off as usize..end].copy_from_slice(&data[..n]);
                    }
                    Err(e) => plain_err(e, true)?,
                }
                Ok(Some(i))
            }
            Op::Truncate(i, size) => {
                let r = c.truncate(b, FILES[i], size);
                self.note_failures();
                match r {
                    Ok(()) => {
                        self.model[i].resize(size as usize, 0);
                        if size == 0 {
                            self.known[i].tainted = false;
                        }
                    }
                    Err(e) => plain_err(e, false)?,
                }
                Ok(Some(i))
            }
            Op::Fsync(i) => {
                let r = c.fsync(b, FILES[i]);
                self.note_failures();
                if self.reported(i, faulty, r)? && !self.known[i].tainted {
                    prop_assert_eq!(self.durable(i), &self.model[i][..]);
                }
                Ok(Some(i))
            }
            Op::Forget(i, true) => {
                let r = c.forget(b, FILES[i], true);
                self.note_failures();
                if self.reported(i, faulty, r)? && !self.known[i].tainted {
                    prop_assert_eq!(self.durable(i), &self.model[i][..]);
                    prop_assert_eq!(
                        self.b.data(FILES[i].vnode, FILES[i].path),
                        &self.model[i][..]
                    );
                }
                Ok(Some(i))
            }
            Op::Forget(i, false) => {
                // What the memory monitor does for an unlink: dirty data and errors are
                // discarded, the file removed at the storage (here: then created again, empty).
                c.forget(b, FILES[i], false).unwrap();
                b.create(FILES[i].vnode, FILES[i].path, b"");
                self.note_failures();
                self.model[i].clear();
                self.known[i] = Known::default();
                Ok(Some(i))
            }
            Op::SyncAll => {
                let r = c.sync_all(b);
                self.note_failures();
                match r {
                    Ok(()) => {
                        for i in 0..FILES.len() {
                            if !self.known[i].tainted {
                                prop_assert_eq!(self.durable(i), &self.model[i][..], "file {}", i);
                            }
                        }
                    }
                    Err(e) if self.transient_ok(faulty, e) => {}
                    Err(e) => {
                        let owed = self.known.iter().any(|k| k.owes || k.may_lose);
                        prop_assert!(owed, "sync_all: unexpected {:?}", e);
                    }
                }
                Ok(None)
            }
            Op::DropAll => {
                c.drop_all();
                Ok(None)
            }
            Op::WriteBack(n) => {
                let r = c.write_back_some(b, n);
                self.note_failures();
                if let Err(e) = r {
                    plain_err(e, false)?;
                }
                Ok(None)
            }
            Op::FlushSome(i, n) => {
                let r = c.flush_some(b, FILES[i], false, n);
                self.note_failures();
                if let Err(e) = r {
                    plain_err(e, false)?;
                }
                Ok(Some(i))
            }
            Op::Faults(r) => {
                b.fail_per_mille = r;
                Ok(None)
            }
            Op::FailNext(n) => {
                b.fail_next = n;
                Ok(None)
            }
            Op::NoSpace(r) => {
                b.nospace_per_mille = r;
                Ok(None)
            }
            Op::Restart => {
                b.restart();
                // What the cache shows now: anything that differs from the model was lost
                // (written back, not fsynced) and the file's next fsync must say so; a file
                // that shows it all may still report a loss (the cache cannot tell that what
                // it wrote back was rewritten since).
                let saved = (b.fail_per_mille, b.fail_next, b.nospace_per_mille);
                (b.fail_per_mille, b.fail_next, b.nospace_per_mille) = (0, 0, 0);
                for (i, f) in FILES.iter().enumerate() {
                    let size = c.size(b, *f).unwrap() as usize;
                    let mut buf = vec![0u8; size];
                    let n = c.read(b, *f, 0, &mut buf).unwrap();
                    self.known[i].may_lose = true;
                    // (A tainted file's contents are unknown already: it may or may not.)
                    if !self.known[i].tainted && buf[..n] != self.model[i][..] {
                        self.known[i].tainted = true;
                        self.known[i].owes = true;
                    }
                }
                (b.fail_per_mille, b.fail_next, b.nospace_per_mille) = saved;
                self.note_failures();
                Ok(None)
            }
        }
    }

    /// With failures suspended: the size and a window of file `i` equal the model.
    fn check(&mut self, i: usize, off: u64, len: usize) -> Result<(), TestCaseError> {
        let saved = (
            self.b.fail_per_mille,
            self.b.fail_next,
            self.b.nospace_per_mille,
        );
        (
            self.b.fail_per_mille,
            self.b.fail_next,
            self.b.nospace_per_mille,
        ) = (0, 0, 0);
        let (c, b) = (&mut self.cache, &mut self.b);
        let size = c.size(b, FILES[i]).unwrap();
        let mut buf = vec![0u8; len];
        let n = c.read(b, FILES[i], off, &mut buf).unwrap();
        self.note_failures();
        let m = &self.model[i];
        if !self.known[i].tainted {
            prop_assert_eq!(size, m.len() as u64);
            let want = m.get(off as usize..).unwrap_or(&[]);
            prop_assert_eq!(&buf[..n], &want[..want.len().min(len)]);
        }
        (
            self.b.fail_per_mille,
            self.b.fail_next,
            self.b.nospace_per_mille,
        ) = saved;
        Ok(())
    }

    fn step(&mut self, op: &Op, check: (usize, u64, usize)) -> Result<(), TestCaseError> {
        if std::env::var_os("LEGO_MODEL_TRACE").is_some() {
            eprintln!("op {op:?} known {:?}", self.known);
        }
        let touched = self.apply(op)?;
        let s = self.cache.stats();
        prop_assert!(s.cached_pages <= s.capacity);
        prop_assert!(s.files <= s.capacity + 2 + 3, "{:?}", s);
        if let Err(e) = self.cache.verify() {
            return Err(TestCaseError::fail(format!("after {op:?}: {e}")));
        }
        if self.mode.limited && !self.mode.restarts && !self.mode.permanent {
            // Every dirty page had its block: no write-back ever ran out of space.
            prop_assert!(self.b.permanent_failures.is_empty(), "after {:?}", op);
            let (held, dirty) = self.cache.reservation(0).unwrap_or((Some(0), 0));
            prop_assert!(held.unwrap_or(u64::MAX) >= dirty, "{:?} < {}", held, dirty);
        }
        self.check(touched.unwrap_or(check.0), check.1, check.2)?;
        if let Err(e) = self.cache.verify() {
            return Err(TestCaseError::fail(format!("after check of {op:?}: {e}")));
        }
        Ok(())
    }

    /// Failures cleared: everything syncs, every file's owed error is reported by its fsync,
    /// and every untainted file is durable and equal to the model.
    fn finish(&mut self) -> Result<(), TestCaseError> {
        (
            self.b.fail_per_mille,
            self.b.fail_next,
            self.b.nospace_per_mille,
        ) = (0, 0, 0);
        let r = self.cache.sync_all(&mut self.b);
        self.note_failures();
        if r.is_err() {
            prop_assert!(self.known.iter().any(|k| k.owes || k.may_lose), "{:?}", r);
        }
        for (i, f) in FILES.iter().enumerate() {
            let r = self.cache.fsync(&mut self.b, *f);
            self.reported(i, false, r)?;
            prop_assert_eq!(self.cache.fsync(&mut self.b, *f), Ok(()), "reported once");
            if self.known[i].tainted {
                continue;
            }
            prop_assert_eq!(self.durable(i), &self.model[i][..], "durable {}", i);
            let size = self.cache.size(&mut self.b, *f).unwrap() as usize;
            let mut buf = vec![0u8; size];
            let n = self.cache.read(&mut self.b, *f, 0, &mut buf).unwrap();
            prop_assert_eq!(&buf[..n], &self.model[i][..], "read {}", i);
        }
        prop_assert_eq!(self.cache.stats().dirty_pages, 0);
        self.cache.verify().map_err(TestCaseError::fail)?;
        Ok(())
    }
}

fn checks() -> impl Strategy<Value = (usize, u64, usize)> {
    (0..FILES.len(), offset(), 1..2 * PAGE)
}

fn run(s: &Setup, mode: Mode, ops: &[(Op, (usize, u64, usize))]) -> Result<(), TestCaseError> {
    let mut run = Run::new(s, mode);
    for (op, check) in ops {
        run.step(op, *check)?;
    }
    run.finish()
}

const CLEAN: Mode = Mode {
    transient: false,
    permanent: false,
    restarts: false,
    limited: false,
};
const TRANSIENT: Mode = Mode {
    transient: true,
    ..CLEAN
};
const PERMANENT: Mode = Mode {
    permanent: true,
    ..CLEAN
};
const RESTARTS: Mode = Mode {
    restarts: true,
    transient: true,
    ..CLEAN
};
const LIMITED: Mode = Mode {
    limited: true,
    ..CLEAN
};
const EVERYTHING: Mode = Mode {
    transient: true,
    permanent: true,
    restarts: true,
    limited: true,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn cache_matches_the_model(s in setup(), ops in prop::collection::vec((op(CLEAN), checks()), 1..80)) {
        run(&s, CLEAN, &ops)?;
    }

    #[test]
    fn nothing_is_lost_or_invented_when_the_backend_fails(s in setup(), ops in prop::collection::vec((op(TRANSIENT), checks()), 1..80)) {
        run(&s, TRANSIENT, &ops)?;
    }

    /// Write-backs failing for good fail nothing but their own file's next fsync.
    #[test]
    fn permanent_failures_fail_only_their_own_files_fsync(s in setup(), ops in prop::collection::vec((op(PERMANENT), checks()), 1..80)) {
        run(&s, PERMANENT, &ops)?;
    }

    /// Restarts never let an fsync succeed over lost data, and lose nothing else.
    #[test]
    fn restarts_are_reported_never_hidden(s in setup(), ops in prop::collection::vec((op(RESTARTS), checks()), 1..80)) {
        run(&s, RESTARTS, &ops)?;
    }

    /// On a small disk, writes are refused up front: no write-back ever lacks space.
    #[test]
    fn a_limited_disk_refuses_writes_never_write_backs(s in setup(), ops in prop::collection::vec((op(LIMITED), checks()), 1..80)) {
        run(&s, LIMITED, &ops)?;
    }

    #[test]
    fn everything_at_once(s in setup(), ops in prop::collection::vec((op(EVERYTHING), checks()), 1..80)) {
        run(&s, EVERYTHING, &ops)?;
    }

    /// Arbitrary offsets and lengths (near `u64::MAX` too) never panic: they work or return
    /// `TooLarge` (or a backend refusal of a file that large).
    #[test]
    fn any_offset_is_safe(
        max in prop_oneof![Just(u64::MAX), any::<u64>(), 0..1u64 << 20],
        ops in prop::collection::vec(
            (0..4u8, prop_oneof![any::<u64>(), (0..64u64).prop_map(|x| u64::MAX - x), 0..1u64 << 16], 0..3 * PAGE),
            1..30,
        ),
    ) {
        let mut b = MemBackend::new(2 * PAGE);
        b.create(1, "/a", b"abc");
        let mut c = cache(4, Config { max_file_size: max, ..Config::default() });
        let f = FILES[0];
        let limit = c.config().max_file_size;
        for (kind, off, len) in ops {
            let ok_or_refused = |r: Result<(), Error<MemError>>| -> Result<(), TestCaseError> {
                match r {
                    Ok(()) | Err(Error::TooLarge) | Err(Error::Backend(MemError::TooBig)) => Ok(()),
                    Err(e) => Err(TestCaseError::fail(format!("{e:?}"))),
                }
            };
            match kind {
                0 => {
                    let mut buf = vec![0u8; len];
                    let r = c.read(&mut b, f, off, &mut buf);
                    prop_assert_eq!(r == Err(Error::TooLarge), off > limit);
                    ok_or_refused(r.map(drop))?;
                }
                1 => {
                    let r = c.write(&mut b, f, off, &vec![7u8; len]);
                    let too_large = off.checked_add(len as u64).is_none_or(|e| e > limit);
                    prop_assert_eq!(r == Err(Error::TooLarge), too_large);
                    ok_or_refused(r.map(drop))?;
                }
                2 => ok_or_refused(c.truncate(&mut b, f, off))?,
                _ => ok_or_refused(c.fsync(&mut b, f))?,
            }
            c.verify().map_err(TestCaseError::fail)?;
        }
    }
}
