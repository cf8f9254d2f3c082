//! The buffer cache service: file requests (`lego_proto::fs`) from clients, served from this
//! mComponent's cache (`lego-bcache`), with the vNode's sComponent behind it. Requests that
//! only concern names (mkdir, readdir, ...) are forwarded; those that change what a cached file
//! holds (open with truncate, unlink, rename) first make the cache forget it.
//!
//! Every handler defers: the cache may have to call the sComponent, which a handler cannot do
//! from inside the dispatcher. Requests are then served one at a time, in arrival order.

extern crate alloc;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use guest_rt::mm::{FRAMES, phys_to_virt};
use guest_rt::println;
use guest_rt::rpc::Rpc;
use guest_rt::service::{Service, heartbeat};
use lego_bcache::{Backend, Cache, Config, Error, FileKey, PAGE};
use lego_proto::fs::{self as proto, FsStat, MAX_IO, Request, errno, flags, kind, status_of};
use lego_rpc::Env;
use lego_rpc::rpc::{DEFER, Deferred, RpcError};
use zerocopy::{FromBytes, IntoBytes};

/// How long a request waits for the sComponent to come back (it may be restarting).
const RECONNECT_NS: u64 = 3_000_000_000;

/// The service.
pub struct Files {
    cache: Cache,
    reply: Box<[u8]>,
    /// The incarnation of each sComponent when we last talked to it: a new one lost what was
    /// not fsync'ed, so the cache drops its clean pages.
    seen: Vec<(u32, u32)>,
    /// Each vNode's sComponent, as its requests name it: where its pages are written back to,
    /// whichever request's work evicts them.
    routes: BTreeMap<u32, u32>,
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
            seen: Vec::new(),
            routes: BTreeMap::new(),
        })
    }

    /// Drops the clean pages if `storage` restarted since we last saw it.
    fn check_incarnation(&mut self, rpc: &Rpc, storage: u32) {
        let now = rpc.env().peer_incarnation(storage);
        match self.seen.iter_mut().find(|(s, _)| *s == storage) {
            Some((_, inc)) if *inc != now => {
                *inc = now;
                self.cache.drop_all();
            }
            Some(_) => {}
            None => self.seen.push((storage, now)),
        }
    }

    fn serve(&mut self, rpc: &mut Rpc, op: u32, bytes: &[u8]) -> Result<usize, u32> {
        let r = Request::decode(op, bytes).map_err(|e| status_of(e.errno()))?;
        let storage = r.head.storage;
        if op == proto::DROP_CACHES {
            let mut b = Storage {
                rpc,
                storage,
                routes: &self.routes,
                scratch: Vec::new(),
            };
            self.cache.sync_all(&mut b).map_err(status)?;
            self.cache.drop_all();
            return Ok(0);
        }
        // The cache keys on paths, so they must be canonical before anything is cached.
        lego_fs::path::validate(r.path).map_err(|e| status_of(lego_fs::serve::errno_of(&e)))?;
        if op == proto::RENAME {
            lego_fs::path::validate(r.path2)
                .map_err(|e| status_of(lego_fs::serve::errno_of(&e)))?;
        }
        self.check_incarnation(rpc, storage);
        self.routes.insert(r.head.vnode, storage);
        let key = FileKey {
            vnode: r.head.vnode,
            path: r.path,
        };
        let mut b = Storage {
            rpc,
            storage,
            routes: &self.routes,
            scratch: Vec::new(),
        };
        let reply = &mut self.reply;
        let cache = &mut self.cache;
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
        Error::NoCapacity => status_of(errno::ENOSPC),
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
        let r = self.serve(rpc, d.opcode, &d.req);
        let reply = &self.reply;
        rpc.reply(d, r.map(|n| &reply[..n]));
    }
}

/// The sComponents, as the cache's backend: RPCs with the file protocol.
struct Storage<'a> {
    rpc: &'a mut Rpc,
    /// The request's sComponent: where forwarded requests go.
    storage: u32,
    /// Each vNode's sComponent: where a file's pages go.
    routes: &'a BTreeMap<u32, u32>,
    scratch: Vec<u8>,
}

/// Whether repeating `op` after a lost reply is harmless.
fn idempotent(op: u32) -> bool {
    matches!(
        op,
        proto::READ
            | proto::WRITE
            | proto::FSYNC
            | proto::STAT
            | proto::TRUNCATE
            | proto::READDIR
            | proto::STATFS
    )
}

impl Storage<'_> {
    /// Where vNode `vnode`'s files are.
    fn route(&self, vnode: u32) -> u32 {
        self.routes.get(&vnode).copied().unwrap_or(self.storage)
    }

    /// Waits until we hold a working connection to sComponent `s` (it may be restarting).
    fn link(&mut self, s: u32) -> Result<(), u32> {
        let give_up = self.rpc.env().now_ns() + RECONNECT_NS;
        loop {
            let failed = self.rpc.failed_peers().contains(&s);
            if self.rpc.connected(s) && !failed {
                return Ok(());
            }
            if failed {
                self.rpc.disconnect(s);
            }
            if self.rpc.connect_async(&[s]).is_err() {
                return Err(status_of(errno::EHOSTDOWN));
            }
            self.rpc.poll();
            heartbeat(self.rpc);
            let now = self.rpc.env().now_ns();
            if now > give_up {
                return Err(status_of(errno::EHOSTDOWN));
            }
            self.rpc.idle_until(now + 1_000_000);
        }
    }

    /// One call to sComponent `to`; a call whose reply was lost to a failure is repeated once
    /// if that is safe.
    fn call(&mut self, to: u32, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, u32> {
        heartbeat(self.rpc);
        for attempt in 0..2 {
            self.link(to)?;
            match self.rpc.call(to, op, req, out) {
                Ok(n) => return Ok(n),
                Err(RpcError::Remote(s)) => return Err(s),
                Err(RpcError::PeerDead | RpcError::NotConnected | RpcError::Timeout)
                    if attempt == 0 && idempotent(op) => {}
                Err(_) => return Err(status_of(errno::EHOSTDOWN)),
            }
        }
        Err(status_of(errno::EHOSTDOWN))
    }

    /// Passes a client's request on unchanged.
    fn forward(&mut self, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, u32> {
        self.call(self.storage, op, req, out)
    }

    /// Builds and makes a request about `f`: `head` with its vNode and sComponent filled in.
    fn request(
        &mut self,
        op: u32,
        f: FileKey<'_>,
        head: proto::FsRequest,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, u32> {
        let to = self.route(f.vnode);
        let r = Request {
            head: proto::FsRequest {
                vnode: f.vnode,
                storage: to,
                ..head
            },
            path: f.path,
            path2: "",
            data,
        };
        let mut buf = core::mem::take(&mut self.scratch);
        buf.resize(r.encoded_len(), 0);
        let n = r.encode(&mut buf).ok_or(status_of(errno::ENAMETOOLONG))?;
        let res = self.call(to, op, &buf[..n], out);
        self.scratch = buf;
        res
    }

    /// Writes `data` at `offset` in requests of at most `MAX_IO`; with `sync` the last one
    /// also fsyncs the file (`flags::SYNC`: one round trip less).
    fn write_chunks(
        &mut self,
        f: FileKey<'_>,
        offset: u64,
        data: &[u8],
        sync: bool,
    ) -> Result<(), u32> {
        let n = data.len().div_ceil(MAX_IO);
        for (i, chunk) in data.chunks(MAX_IO).enumerate() {
            let head = proto::FsRequest {
                offset: offset + (i * MAX_IO) as u64,
                flags: if sync && i + 1 == n { flags::SYNC } else { 0 },
                ..Default::default()
            };
            self.request(proto::WRITE, f, head, chunk, &mut [0u8; 4])?;
        }
        if sync && n == 0 {
            return self.fsync(f);
        }
        Ok(())
    }
}

impl Backend for Storage<'_> {
    type Error = u32;

    fn read(&mut self, f: FileKey<'_>, offset: u64, buf: &mut [u8]) -> Result<usize, u32> {
        let mut done = 0;
        while done < buf.len() {
            let want = (buf.len() - done).min(MAX_IO);
            let head = proto::FsRequest {
                offset: offset + done as u64,
                len: want as u32,
                ..Default::default()
            };
            let n = self.request(proto::READ, f, head, b"", &mut buf[done..done + want])?;
            done += n;
            if n < want {
                break;
            }
        }
        Ok(done)
    }

    fn write(&mut self, f: FileKey<'_>, offset: u64, data: &[u8]) -> Result<(), u32> {
        self.write_chunks(f, offset, data, false)
    }

    fn write_sync(&mut self, f: FileKey<'_>, offset: u64, data: &[u8]) -> Result<(), u32> {
        self.write_chunks(f, offset, data, true)
    }

    fn fsync(&mut self, f: FileKey<'_>) -> Result<(), u32> {
        self.request(proto::FSYNC, f, proto::FsRequest::default(), b"", &mut [])
            .map(|_| ())
    }

    fn size(&mut self, f: FileKey<'_>) -> Result<u64, u32> {
        let mut out = [0u8; core::mem::size_of::<FsStat>()];
        let n = self.request(proto::STAT, f, proto::FsRequest::default(), b"", &mut out)?;
        let st = FsStat::read_from_bytes(out.get(..n).ok_or(status_of(errno::EIO))?)
            .map_err(|_| status_of(errno::EIO))?;
        if st.kind == kind::DIR {
            return Err(status_of(errno::EISDIR));
        }
        Ok(st.size)
    }

    fn truncate(&mut self, f: FileKey<'_>, size: u64) -> Result<(), u32> {
        let head = proto::FsRequest {
            offset: size,
            ..Default::default()
        };
        self.request(proto::TRUNCATE, f, head, b"", &mut [])
            .map(|_| ())
    }

    fn max_io(&self) -> usize {
        MAX_IO
    }
}
