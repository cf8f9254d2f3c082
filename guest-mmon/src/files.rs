//! The buffer cache service: file requests (`lego_proto::fs`) from clients, served from this
//! mComponent's cache (`lego-bcache`), with the vNode's sComponent behind it (`storage.rs`).
//! Requests that only concern names (mkdir, readdir, ...) are forwarded; those that change what
//! a cached file holds (open with truncate, unlink, rename) first make the cache forget it.
//!
//! Every handler defers: the cache may have to call the sComponent, which a handler cannot do
//! from inside the dispatcher. Deferred requests are served one at a time, in arrival order,
//! except that long work never holds the others for more than a few milliseconds:
//!
//! * an fsync, a rename or a `DROP_CACHES` with more than [`FINAL_PAGES`] to write back
//!   becomes a *task*: its pages are written back in steps of [`STEP_NS`], and between steps
//!   the requests that arrived meanwhile are served (short ones at once, long ones queued as
//!   tasks behind it); once little is left, the request itself is served as usual;
//! * after the requests, while the cache wants write-behind (a file or the cache past its
//!   dirty limits), dirty pages are written back in steps the same way, so that a big put's
//!   fsync finds little left to do. It never waits for an sComponent that is not connected,
//!   and a transient failure pauses it for [`BEHIND_PAUSE_NS`].
//!
//! The console reports long work (a task over 200 ms, with its steps and the longest time
//! other requests could have waited), every new longest time requests could not be taken (from
//! 1 ms on: what a request arriving then would have waited before being served), and any time
//! that was more than 100 ms.

extern crate alloc;

mod storage;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec;
use alloc::vec::Vec;

use guest_rt::mm::{FRAMES, phys_to_virt};
use guest_rt::println;
use guest_rt::rpc::Rpc;
use guest_rt::service::{Service, heartbeat};
use lego_bcache::{Cache, Config, Error, FileKey, PAGE};
use lego_proto::fs::{self as proto, FsStat, MAX_IO, Request, errno, flags, kind, status_of};
use lego_rpc::Env;
use lego_rpc::rpc::{DEFER, Deferred};
use zerocopy::{FromBytes, IntoBytes};

use storage::{Space, Storage};

/// A step of long work, at most about this long (ns) before waiting requests are taken.
const STEP_NS: u64 = 2_000_000;
/// Pages per write-back call within a step.
const STEP_PAGES: usize = 16;
/// An fsync or rename with at most this many pages to write back is served at once.
const FINAL_PAGES: u64 = 64;
/// After a transient failure, write-behind waits this long (the sComponent is unreachable:
/// every attempt would wait for it).
const BEHIND_PAUSE_NS: u64 = 1_000_000_000;
/// Requests not taken for longer than this are reported on the console.
const HOLD_REPORT_NS: u64 = 100_000_000;
/// A new longest time requests were not taken is reported from this on.
const RECORD_NS: u64 = 1_000_000;

/// The service.
pub struct Files {
    cache: Cache,
    reply: Box<[u8]>,
    /// Each vNode's sComponent, as its requests name it: where its pages are written back to,
    /// whichever request's work evicts them.
    routes: BTreeMap<u32, u32>,
    /// How each sComponent holds space for us.
    space: BTreeMap<u32, Space>,
    /// Long requests being worked on, the front one first.
    tasks: VecDeque<Task>,
    /// No write-behind before this (`now_ns`).
    behind_after: u64,
    /// When waiting requests were last taken (`now_ns`; 0: not serving).
    last_take: u64,
    /// When the last long hold was reported.
    hold_reported: u64,
    /// What ran since waiting requests were last taken (for the report of a long hold).
    doing: &'static str,
    /// The longest time requests could not be taken so far.
    longest_hold: u64,
    /// Requests for another service taken from the queue (see `drain`).
    foreign: VecDeque<Deferred>,
}

/// A long request and its progress.
struct Task {
    d: Deferred,
    started: u64,
    steps: u32,
    /// The longest time other requests could not be taken while it ran.
    hold: u64,
}

/// Borrows the cache and a backend for storage `$s` out of `$self` (disjoint fields).
macro_rules! backend {
    ($self:ident, $rpc:expr, $s:expr) => {
        (
            &mut $self.cache,
            Storage {
                rpc: $rpc,
                storage: $s,
                routes: &$self.routes,
                space: &mut $self.space,
                scratch: Vec::new(),
                no_wait: false,
            },
        )
    };
}

impl Files {
    /// A cache of `bytes` of this component's frames (less if that much is not free in one
    /// piece).
    pub fn new(bytes: u64) -> Option<Files> {
        let mut pages = (bytes / PAGE as u64).max(1);
        let pa = loop {
            if let Some(pa) = FRAMES.lock().alloc(pages, 1) {
                break pa;
            }
            if pages <= 16 {
                return None;
            }
            pages /= 2;
        };
        // SAFETY: the frames were just allocated to us, for good, and are reached through the
        // direct map; `[u8; PAGE]` has no invalid bit patterns and the cache fills a page
        // before reading it.
        let arena = unsafe {
            core::slice::from_raw_parts_mut(phys_to_virt(pa).cast::<[u8; PAGE]>(), pages as usize)
        };
        let cfg = Config {
            max_io_pages: (MAX_IO / PAGE) as u32,
            ..Config::default()
        };
        println!("mmon: buffer cache {} MiB", (pages * PAGE as u64) >> 20);
        Some(Files {
            cache: Cache::new(arena, cfg),
            reply: vec![0u8; lego_proto::rpc::MAX_PAYLOAD].into_boxed_slice(),
            routes: BTreeMap::new(),
            space: BTreeMap::new(),
            tasks: VecDeque::new(),
            behind_after: 0,
            last_take: 0,
            hold_reported: 0,
            doing: "",
            longest_hold: 0,
            foreign: VecDeque::new(),
        })
    }

    fn serve(&mut self, rpc: &mut Rpc, op: u32, bytes: &[u8]) -> Result<usize, u32> {
        let r = Request::decode(op, bytes).map_err(|e| status_of(e.errno()))?;
        let storage = r.head.storage;
        if op == proto::DROP_CACHES {
            let (cache, mut b) = backend!(self, rpc, storage);
            cache.sync_all(&mut b).map_err(status)?;
            cache.drop_all();
            return Ok(0);
        }
        if op == proto::RESERVE {
            // Ours to send, not a client's: it would hold space in our name.
            return Err(status_of(errno::ENOTSUP));
        }
        // The cache keys on paths, so they must be canonical before anything is cached.
        lego_fs::path::validate(r.path).map_err(|e| status_of(lego_fs::serve::errno_of(&e)))?;
        if op == proto::RENAME {
            lego_fs::path::validate(r.path2)
                .map_err(|e| status_of(lego_fs::serve::errno_of(&e)))?;
        }
        self.routes.insert(r.head.vnode, storage);
        let key = FileKey {
            vnode: r.head.vnode,
            path: r.path,
        };
        let reply = &mut self.reply;
        let (cache, mut b) = (
            &mut self.cache,
            Storage {
                rpc,
                storage,
                routes: &self.routes,
                space: &mut self.space,
                scratch: Vec::new(),
                no_wait: false,
            },
        );
        match op {
            proto::READ => {
                let out = reply
                    .get_mut(..r.head.len as usize)
                    .ok_or(status_of(errno::EINVAL))?;
                cache.read(&mut b, key, r.head.offset, out).map_err(status)
            }
            proto::WRITE => {
                let n = cache
                    .write(&mut b, key, r.head.offset, r.data)
                    .map_err(status)?;
                put(&(n as u32).to_le_bytes(), reply)
            }
            proto::FSYNC => cache.fsync(&mut b, key).map(|()| 0).map_err(status),
            proto::BENCH => bench(cache, &mut b, key, r.data, reply),
            proto::TRUNCATE => cache
                .truncate(&mut b, key, r.head.offset)
                .map(|()| 0)
                .map_err(status),
            proto::STAT => {
                let n = b.forward(op, bytes, reply)?;
                let mut st = FsStat::read_from_bytes(reply.get(..n).ok_or(status_of(errno::EIO))?)
                    .map_err(|_| status_of(errno::EIO))?;
                if st.kind == kind::FILE {
                    // What clients wrote may not have reached the sComponent yet.
                    st.size = cache.size(&mut b, key).map_err(status)?;
                }
                put(st.as_bytes(), reply)
            }
            proto::OPEN if r.head.flags & flags::TRUNC != 0 => {
                cache.forget(&mut b, key, false).map_err(status)?;
                b.forward(op, bytes, reply)
            }
            proto::UNLINK => {
                cache.forget(&mut b, key, false).map_err(status)?;
                b.forward(op, bytes, reply)
            }
            proto::RENAME => {
                // `from` may be a directory: everything cached below it is written back and
                // forgotten, so it is read again under its new name. What `to` named is gone.
                cache.forget_tree(&mut b, key, true).map_err(status)?;
                let to = FileKey {
                    vnode: r.head.vnode,
                    path: r.path2,
                };
                cache.forget_tree(&mut b, to, false).map_err(status)?;
                b.forward(op, bytes, reply)
            }
            _ => b.forward(op, bytes, reply),
        }
    }

    /// Pages request `op` would write back before it can be answered, if that makes it long
    /// work (`None`: serve it at once).
    fn long_work(&self, op: u32, bytes: &[u8]) -> Option<u64> {
        let r = Request::decode(op, bytes).ok()?;
        let key = FileKey {
            vnode: r.head.vnode,
            path: r.path,
        };
        let pages = match op {
            proto::FSYNC => self.cache.dirty_pages_of(key, false),
            proto::RENAME => self.cache.dirty_pages_of(key, true),
            proto::DROP_CACHES => self.cache.stats().dirty_pages as u64,
            _ => return None,
        };
        (pages > FINAL_PAGES).then_some(pages)
    }

    /// Takes a request: a short one is served now, a long one queued as a task (for `work`).
    pub fn accept(&mut self, rpc: &mut Rpc, d: Deferred) {
        if self.long_work(d.opcode, &d.req).is_some() {
            let now = rpc.env().now_ns();
            self.tasks.push_back(Task {
                d,
                started: now,
                steps: 0,
                hold: 0,
            });
            return;
        }
        self.answer(rpc, d);
    }

    /// Serves request `d` and replies.
    fn answer(&mut self, rpc: &mut Rpc, d: Deferred) {
        self.doing = proto::op_name(d.opcode);
        let r = self.serve(rpc, d.opcode, &d.req);
        let reply = &self.reply;
        rpc.reply(d, r.map(|n| &reply[..n]));
    }

    /// One step of the front task: writes back for up to [`STEP_NS`]; once little is left
    /// (or the write-back fails), the request is served or answered and the task ends.
    fn step(&mut self, rpc: &mut Rpc) {
        let Some(task) = self.tasks.front_mut() else {
            return;
        };
        task.steps += 1;
        let (op, start) = (task.d.opcode, rpc.env().now_ns());
        self.doing = "a step of a long request";
        let mut failed = None;
        let mut progress = true;
        if let Ok(r) = Request::decode(op, &task.d.req) {
            let key = FileKey {
                vnode: r.head.vnode,
                path: r.path,
            };
            let storage = r.head.storage;
            while progress && rpc.env().now_ns() < start + STEP_NS {
                let left = match op {
                    proto::DROP_CACHES => self.cache.stats().dirty_pages as u64,
                    _ => self.cache.dirty_pages_of(key, op == proto::RENAME),
                };
                if left <= FINAL_PAGES {
                    break;
                }
                let (cache, mut b) = backend!(self, rpc, storage);
                let done = match op {
                    proto::DROP_CACHES => cache.write_back_some(&mut b, STEP_PAGES),
                    _ => cache.flush_some(&mut b, key, op == proto::RENAME, STEP_PAGES),
                };
                match done {
                    Ok(n) => progress = n > 0,
                    Err(e) => failed = Some(status(e)),
                }
                progress &= failed.is_none();
            }
            let left = match op {
                proto::DROP_CACHES => self.cache.stats().dirty_pages as u64,
                _ => self.cache.dirty_pages_of(key, op == proto::RENAME),
            };
            if progress && left > FINAL_PAGES {
                return;
            }
        }
        // Little left, no progress possible, or failed: finish it.
        let Some(task) = self.tasks.pop_front() else {
            return;
        };
        let (started, steps, hold, d) = (task.started, task.steps, task.hold, task.d);
        match failed {
            Some(s) => rpc.reply(d, Err(s)),
            None => self.answer(rpc, d),
        }
        let took = rpc.env().now_ns().saturating_sub(started);
        if took > 200_000_000 {
            println!(
                "mmon: files: {} in {} steps over {} ms; other requests waited at most {} ms",
                proto::op_name(op),
                steps,
                took / 1_000_000,
                hold.div_ceil(1_000_000)
            );
        }
    }

    /// Write-behind for up to [`STEP_NS`].
    fn behind(&mut self, rpc: &mut Rpc) {
        let start = rpc.env().now_ns();
        self.doing = "write-behind";
        while self.cache.writeback_wanted() && rpc.env().now_ns() < start + STEP_NS {
            let (cache, mut b) = backend!(self, rpc, 0);
            b.no_wait = true;
            match cache.write_back_some(&mut b, STEP_PAGES) {
                Ok(n) if n > 0 => {}
                _ => {
                    self.behind_after = rpc.env().now_ns() + BEHIND_PAUSE_NS;
                    return;
                }
            }
        }
    }

    /// Waiting requests are taken now: notes how long they could have waited.
    fn take_point(&mut self, now: u64) {
        let held = now.saturating_sub(self.last_take);
        self.last_take = now;
        self.note_hold(now, held);
    }

    /// Requests could not be taken for `held` ns, until `now`: recorded, and reported if long.
    fn note_hold(&mut self, now: u64, held: u64) {
        if let Some(t) = self.tasks.front_mut() {
            t.hold = t.hold.max(held);
        }
        if held > self.longest_hold {
            self.longest_hold = held;
            if held >= RECORD_NS {
                println!(
                    "mmon: files: longest wait for requests so far: {}.{:03} ms ({})",
                    held / 1_000_000,
                    held / 1000 % 1000,
                    self.doing
                );
            }
        }
        if held > HOLD_REPORT_NS && now > self.hold_reported + 1_000_000_000 {
            self.hold_reported = now;
            println!(
                "mmon: files: requests could not be taken for {} ms ({})",
                held / 1_000_000,
                self.doing
            );
        }
    }

    /// One bounded step of background work (the front long request, else write-behind), at
    /// most about [`STEP_NS`]. Returns when it wants to run again, as `Service::run` does on a
    /// monitor loop that has it: 0 if more is due at once, the end of a write-behind pause, or
    /// `u64::MAX` if nothing is left.
    pub fn work(&mut self, rpc: &mut Rpc) -> u64 {
        let now = rpc.env().now_ns();
        if !self.tasks.is_empty() {
            self.step(rpc);
        } else if self.cache.writeback_wanted() && now >= self.behind_after {
            self.behind(rpc);
        }
        // Requests wait for the step at least (more if the caller serves others after it).
        let end = rpc.env().now_ns();
        self.note_hold(end, end.saturating_sub(now));
        if !self.tasks.is_empty() {
            0
        } else if self.cache.writeback_wanted() {
            self.behind_after.max(rpc.env().now_ns()).min(u64::MAX - 1)
        } else {
            u64::MAX
        }
    }

    /// A request that is not a file request, taken from the engine's queue while serving file
    /// requests between steps (`drain`): for the monitor to route (see `drain`).
    pub fn take_foreign(&mut self) -> Option<Deferred> {
        self.foreign.pop_front()
    }

    /// Serves what is waiting, long work in steps, then write-behind in steps, taking new
    /// requests between steps, for as long as work is due. (This is the monitor loop's job
    /// where it calls `Service::run`: there `deferred` should only `accept` and `run` should
    /// call `work`.) A request that is not a file request stops it: it is kept for
    /// `take_foreign`.
    fn drain(&mut self, rpc: &mut Rpc) {
        loop {
            self.take_point(rpc.env().now_ns());
            while let Some(d) = rpc.take_deferred() {
                if !proto::is_fs_op(d.opcode) {
                    self.foreign.push_back(d);
                    return;
                }
                self.accept(rpc, d);
            }
            if self.work(rpc) != 0 {
                return;
            }
            rpc.poll();
            heartbeat(rpc);
        }
    }
}

/// Times the operations a `BENCH` request asks for, issued here: each one's latency in ns
/// goes into `reply`, a `u32` each.
fn bench(
    cache: &mut Cache,
    b: &mut Storage<'_>,
    key: FileKey<'_>,
    req: &[u8],
    reply: &mut [u8],
) -> Result<usize, u32> {
    let q = proto::BenchRequest::read_from_bytes(req).map_err(|_| status_of(errno::EINVAL))?;
    let n = q.ops as usize;
    if q.pages == 0 || q.ops > proto::BENCH_MAX_OPS || n * 4 > reply.len() {
        return Err(status_of(errno::EINVAL));
    }
    let (write, random) = (
        q.flags & proto::bench::WRITE != 0,
        q.flags & proto::bench::RANDOM != 0,
    );
    let mut page = vec![0x5au8; PAGE];
    for i in 0..n {
        let offset = proto::bench_page(q.first + i as u64, q.pages, random, q.seed) * PAGE as u64;
        let t = b.rpc.env().now_ns();
        if write {
            cache.write(b, key, offset, &page).map_err(status)?;
            cache.fsync(b, key).map_err(status)?;
        } else if cache.read(b, key, offset, &mut page).map_err(status)? != PAGE {
            return Err(status_of(errno::EIO));
        }
        let ns = b.rpc.env().now_ns().saturating_sub(t);
        reply[i * 4..i * 4 + 4]
            .copy_from_slice(&(ns.min(u64::from(u32::MAX)) as u32).to_le_bytes());
    }
    Ok(n * 4)
}

fn put(bytes: &[u8], reply: &mut [u8]) -> Result<usize, u32> {
    reply
        .get_mut(..bytes.len())
        .ok_or(status_of(errno::EINVAL))?
        .copy_from_slice(bytes);
    Ok(bytes.len())
}

/// A cache error as a reply status.
fn status(e: Error<u32>) -> u32 {
    match e {
        Error::Backend(s) => s,
        Error::TooLarge => status_of(errno::EFBIG),
        Error::NoCapacity | Error::NoSpace => status_of(errno::ENOSPC),
        Error::Lost => status_of(errno::EIO),
    }
}

impl Files {
    /// Serves a file request issued here (a home loading a program from a vNode this cache
    /// holds) as if it had come over the fabric; the reply goes into `out`.
    pub fn serve_local(
        &mut self,
        rpc: &mut Rpc,
        op: u32,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, u32> {
        let n = self.serve(rpc, op, req)?;
        let dst = out.get_mut(..n).ok_or(status_of(errno::EINVAL))?;
        dst.copy_from_slice(&self.reply[..n]);
        Ok(n)
    }
}

impl Service for Files {
    fn install(&mut self, rpc: &mut Rpc) {
        for op in proto::OP_BASE..=proto::OP_LAST {
            rpc.handle(op, |_, _, _| Err(DEFER));
        }
    }

    fn deferred(&mut self, rpc: &mut Rpc, d: Deferred) {
        // Time spent idle before this request is nobody's wait.
        self.last_take = rpc.env().now_ns();
        self.accept(rpc, d);
        self.drain(rpc);
        // Only file requests defer when this is the monitor's only service; a monitor with
        // several routes `take_foreign` itself (and should call `accept` and `work` instead).
        while let Some(d) = self.take_foreign() {
            rpc.reply(d, Err(lego_proto::rpc::status::FAILED));
        }
    }
}
