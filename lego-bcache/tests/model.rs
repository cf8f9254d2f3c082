//! Random operation sequences on a tiny cache (4-16 frames) over three files in two vNodes,
//! against a plain model of the file contents, with and without injected backend failures.
//!
//! After every operation: the cache's invariants hold, it never uses more frames than it has,
//! its size and a read of the touched file equal the model; after every successful fsync,
//! forget or sync, the backend's durable contents equal the model. At the end, with failures
//! cleared, `sync_all` succeeds and every file is durable and equal to the model: nothing lost,
//! nothing invented.

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
    /// Sets the failure rate (per mille) of every backend call; 0 heals.
    Faults(u32),
    /// Fails the next n backend calls.
    FailNext(u32),
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

fn op(faults: bool) -> impl Strategy<Value = Op> {
    let f = 0..FILES.len();
    let fault_ops = if faults { 1 } else { 0 };
    prop_oneof![
        6 => (f.clone(), offset(), length()).prop_map(|(f, o, l)| Op::Read(f, o, l)),
        8 => (f.clone(), offset(), length(), any::<u8>()).prop_map(|(f, o, l, s)| Op::Write(f, o, l, s)),
        2 => (f.clone(), offset()).prop_map(|(f, s)| Op::Truncate(f, s)),
        2 => f.clone().prop_map(Op::Fsync),
        1 => (f, any::<bool>()).prop_map(|(f, w)| Op::Forget(f, w)),
        1 => Just(Op::SyncAll),
        1 => Just(Op::DropAll),
        fault_ops => prop_oneof![Just(0u32), 50..400u32].prop_map(Op::Faults),
        fault_ops => (1..4u32).prop_map(Op::FailNext),
    ]
}

#[derive(Clone, Debug)]
struct Setup {
    frames: usize,
    max_io_pages: usize,
    readahead: u32,
    initial: u32,
    contents: Vec<usize>,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        4..=16usize,
        1..=4usize,
        0..=8u32,
        1..=4u32,
        prop::collection::vec(0..8 * PAGE, FILES.len()),
    )
        .prop_map(
            |(frames, max_io_pages, readahead, initial, contents)| Setup {
                frames,
                max_io_pages,
                readahead,
                initial,
                contents,
            },
        )
}

struct Run {
    cache: Cache,
    b: MemBackend,
    model: Vec<Vec<u8>>,
}

impl Run {
    fn new(s: &Setup) -> Run {
        let mut b = MemBackend::new(s.max_io_pages * PAGE);
        let mut model = Vec::new();
        for (i, f) in FILES.iter().enumerate() {
            let data = pattern(s.contents[i], i as u8 + 100);
            b.create(f.vnode, f.path, &data);
            model.push(data);
        }
        let cache = cache(
            s.frames,
            Config {
                readahead_pages: s.readahead,
                readahead_initial: s.initial,
                max_idle_files: 1,
                ..Config::default()
            },
        );
        Run { cache, b, model }
    }

    fn faulty(&self) -> bool {
        self.b.fail_per_mille > 0 || self.b.fail_next > 0
    }

    fn durable(&self, i: usize) -> &[u8] {
        self.b.durable(FILES[i].vnode, FILES[i].path)
    }

    /// Applies `op` to the cache and the model; returns the file to check (if one).
    fn apply(&mut self, op: &Op) -> Result<Option<usize>, TestCaseError> {
        let faulty = self.faulty();
        let (c, b) = (&mut self.cache, &mut self.b);
        // With failures injected an operation may fail, and then has no visible effect.
        let check_err = |e: Error<MemError>| -> Result<(), TestCaseError> {
            prop_assert!(faulty && e == Error::Backend(MemError::Injected), "{:?}", e);
            Ok(())
        };
        match *op {
            Op::Read(i, off, len) => {
                let mut buf = vec![0u8; len];
                match c.read(b, FILES[i], off, &mut buf) {
                    Ok(n) => {
                        let m = &self.model[i];
                        let want = m.get(off as usize..).unwrap_or(&[]);
                        let want = &want[..want.len().min(len)];
                        prop_assert_eq!(&buf[..n], want);
                    }
                    Err(e) => check_err(e)?,
                }
                Ok(Some(i))
            }
            Op::Write(i, off, len, seed) => {
                let data = pattern(len, seed);
                match c.write(b, FILES[i], off, &data) {
                    Ok(n) => {
                        prop_assert!(
                            n == len || (faulty && n > 0),
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
                    Err(e) => check_err(e)?,
                }
                Ok(Some(i))
            }
            Op::Truncate(i, size) => {
                match c.truncate(b, FILES[i], size) {
                    Ok(()) => self.model[i].resize(size as usize, 0),
                    Err(e) => check_err(e)?,
                }
                Ok(Some(i))
            }
            Op::Fsync(i) => {
                match c.fsync(b, FILES[i]) {
                    Ok(()) => prop_assert_eq!(self.durable(i), &self.model[i][..]),
                    Err(e) => check_err(e)?,
                }
                Ok(Some(i))
            }
            Op::Forget(i, true) => {
                match c.forget(b, FILES[i], true) {
                    Ok(()) => {
                        prop_assert_eq!(self.durable(i), &self.model[i][..]);
                        prop_assert_eq!(
                            self.b.data(FILES[i].vnode, FILES[i].path),
                            &self.model[i][..]
                        );
                    }
                    Err(e) => check_err(e)?,
                }
                Ok(Some(i))
            }
            Op::Forget(i, false) => {
                // What the memory monitor does for an unlink: dirty data is discarded, the
                // file removed at the storage (here: then created again, empty).
                c.forget(b, FILES[i], false).unwrap();
                b.create(FILES[i].vnode, FILES[i].path, b"");
                self.model[i].clear();
                Ok(Some(i))
            }
            Op::SyncAll => {
                match c.sync_all(b) {
                    Ok(()) => {
                        for i in 0..FILES.len() {
                            prop_assert_eq!(self.durable(i), &self.model[i][..], "file {}", i);
                        }
                    }
                    Err(e) => check_err(e)?,
                }
                Ok(None)
            }
            Op::DropAll => {
                c.drop_all();
                Ok(None)
            }
            Op::Faults(r) => {
                b.fail_per_mille = r;
                Ok(None)
            }
            Op::FailNext(n) => {
                b.fail_next = n;
                Ok(None)
            }
        }
    }

    /// With failures suspended: the size and a window of file `i` equal the model.
    fn check(&mut self, i: usize, off: u64, len: usize) -> Result<(), TestCaseError> {
        let saved = (self.b.fail_per_mille, self.b.fail_next);
        (self.b.fail_per_mille, self.b.fail_next) = (0, 0);
        let (c, b) = (&mut self.cache, &mut self.b);
        let m = &self.model[i];
        prop_assert_eq!(c.size(b, FILES[i]).unwrap(), m.len() as u64);
        let mut buf = vec![0u8; len];
        let n = c.read(b, FILES[i], off, &mut buf).unwrap();
        let want = m.get(off as usize..).unwrap_or(&[]);
        prop_assert_eq!(&buf[..n], &want[..want.len().min(len)]);
        (self.b.fail_per_mille, self.b.fail_next) = saved;
        Ok(())
    }

    fn step(&mut self, op: &Op, check: (usize, u64, usize)) -> Result<(), TestCaseError> {
        let touched = self.apply(op)?;
        let s = self.cache.stats();
        prop_assert!(s.cached_pages <= s.capacity);
        prop_assert!(s.files <= s.capacity + 2, "{:?}", s);
        if let Err(e) = self.cache.verify() {
            return Err(TestCaseError::fail(format!("after {op:?}: {e}")));
        }
        self.check(touched.unwrap_or(check.0), check.1, check.2)?;
        if let Err(e) = self.cache.verify() {
            return Err(TestCaseError::fail(format!("after check of {op:?}: {e}")));
        }
        Ok(())
    }

    /// Failures cleared: everything syncs, and every file is durable and equal to the model.
    fn finish(&mut self) -> Result<(), TestCaseError> {
        (self.b.fail_per_mille, self.b.fail_next) = (0, 0);
        self.cache.sync_all(&mut self.b).unwrap();
        for (i, f) in FILES.iter().enumerate() {
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn cache_matches_the_model(
        s in setup(),
        ops in prop::collection::vec((op(false), checks()), 1..80),
    ) {
        let mut run = Run::new(&s);
        for (op, check) in &ops {
            run.step(op, *check)?;
        }
        run.finish()?;
    }

    #[test]
    fn nothing_is_lost_or_invented_when_the_backend_fails(
        s in setup(),
        ops in prop::collection::vec((op(true), checks()), 1..80),
    ) {
        let mut run = Run::new(&s);
        for (op, check) in &ops {
            run.step(op, *check)?;
        }
        run.finish()?;
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
