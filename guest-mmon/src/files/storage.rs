//! The sComponents, as the buffer cache's backend: RPCs with the file protocol.
//!
//! Space reservations: `RESERVE` where the sComponent serves it. Where it does not (an unknown
//! opcode or `ENOTSUP`: an sComponent from before reservations), the reservation is emulated
//! with `STATFS`: a total is granted if the sComponent's free blocks cover it. That is exact
//! with one mComponent per sComponent and approximate with several (each sees the same free
//! blocks); the console says so once per sComponent.

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use guest_rt::println;
use guest_rt::rpc::Rpc;
use guest_rt::service::heartbeat;
use lego_bcache::{Backend, FileKey, Reserve};
use lego_proto::fs::{self as proto, FsStat, FsStatFs, MAX_IO, Request, errno, flags, kind};
use lego_proto::fs::{errno_of, status_of};
use lego_rpc::Env;
use lego_rpc::rpc::RpcError;
use zerocopy::FromBytes;

/// How long a request waits for the sComponent to come back (it may be restarting).
const RECONNECT_NS: u64 = 3_000_000_000;

/// How an sComponent holds space for us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// Not asked yet.
    Unknown,
    /// It serves `RESERVE`.
    Native,
    /// It does not: `STATFS` instead, granting up to its free blocks, or no more than what it
    /// holds for us (granted, less what our writes used since).
    Emulated(u64),
}

/// The cache's backend for one request: the engine and where things go.
pub struct Storage<'a> {
    pub rpc: &'a mut Rpc,
    /// The request's sComponent: where forwarded requests go.
    pub storage: u32,
    /// Each vNode's sComponent: where a file's pages go.
    pub routes: &'a BTreeMap<u32, u32>,
    /// How each sComponent holds space.
    pub space: &'a mut BTreeMap<u32, Space>,
    pub scratch: Vec<u8>,
    /// Fail at once with `EHOSTDOWN` rather than wait for an sComponent that is not connected
    /// (background work must not hold requests for a component that is down).
    pub no_wait: bool,
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
            | proto::RESERVE
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
            if self.rpc.connect_async(&[s]).is_err() || self.no_wait {
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
    pub fn forward(&mut self, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, u32> {
        self.call(self.storage, op, req, out)
    }

    /// Builds and makes a request to sComponent `to`: `head` with `to` filled in.
    fn send(
        &mut self,
        to: u32,
        op: u32,
        head: proto::FsRequest,
        path: &str,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, u32> {
        let r = Request {
            head: proto::FsRequest {
                storage: to,
                ..head
            },
            path,
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

    /// A request about `f`, to its vNode's sComponent.
    fn request(
        &mut self,
        op: u32,
        f: FileKey<'_>,
        head: proto::FsRequest,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, u32> {
        let to = self.route(f.vnode);
        let head = proto::FsRequest {
            vnode: f.vnode,
            ..head
        };
        self.send(to, op, head, f.path, data, out)
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
            // As an sComponent that reserves would: the write used up the blocks it touched.
            let to = self.route(f.vnode);
            if let Some(Space::Emulated(held)) = self.space.get_mut(&to) {
                let at = head.offset % 4096;
                *held = held.saturating_sub((at + chunk.len() as u64).div_ceil(4096));
            }
        }
        if sync && n == 0 {
            return self.fsync(f);
        }
        Ok(())
    }

    /// sComponent `s`'s space (`STATFS`).
    pub fn statfs(&mut self, s: u32) -> Result<FsStatFs, u32> {
        let mut out = [0u8; core::mem::size_of::<FsStatFs>()];
        let n = self.send(s, proto::STATFS, Default::default(), "", b"", &mut out)?;
        FsStatFs::read_from_bytes(out.get(..n).ok_or(status_of(errno::EIO))?)
            .map_err(|_| status_of(errno::EIO))
    }

    /// `RESERVE` at `s`; `None` if `s` does not serve it.
    fn reserve_native(&mut self, s: u32, blocks: u64) -> Result<Option<Reserve>, u32> {
        let head = proto::FsRequest {
            offset: blocks,
            ..Default::default()
        };
        let mut out = [0u8; core::mem::size_of::<FsStatFs>()];
        match self.send(s, proto::RESERVE, head, "", b"", &mut out) {
            Ok(_) => Ok(Some(Reserve::Granted)),
            Err(st) if errno_of(st) == Some(errno::ENOSPC) => Ok(Some(Reserve::Refused)),
            Err(st)
                if st == lego_proto::rpc::status::UNKNOWN_OPCODE
                    || errno_of(st) == Some(errno::ENOTSUP) =>
            {
                Ok(None)
            }
            Err(st) => Err(st),
        }
    }
}

/// Whether a failure may go away by itself (the sComponent unreachable or restarting); other
/// statuses a write-back can get (no space, file too large, the file gone, corruption) will
/// not, for that file.
pub fn transient(status: u32) -> bool {
    match errno_of(status) {
        Some(e) => matches!(e, errno::EHOSTDOWN | errno::EBUSY | 11 | 110),
        // The RPC layer's own statuses: a confused or restarting peer, not the file's fault.
        None => true,
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

    fn transient(&self, e: &u32) -> bool {
        transient(*e)
    }

    fn error_code(&self, e: &u32) -> u32 {
        *e
    }

    fn error_from_code(&self, code: u32) -> u32 {
        code
    }

    fn storage(&self, vnode: u32) -> u32 {
        self.route(vnode)
    }

    fn incarnation(&self, storage: u32) -> u32 {
        self.rpc.env().peer_incarnation(storage)
    }

    fn reserve(&mut self, s: u32, blocks: u64) -> Result<Reserve, u32> {
        let mode = self.space.get(&s).copied().unwrap_or(Space::Unknown);
        if let Space::Emulated(last) = mode {
            if blocks <= last {
                self.space.insert(s, Space::Emulated(blocks));
                return Ok(Reserve::Granted);
            }
        } else {
            match self.reserve_native(s, blocks)? {
                Some(r) => {
                    self.space.insert(s, Space::Native);
                    return Ok(r);
                }
                None => {
                    println!(
                        "mmon: files: sComponent {s} does not reserve space (no RESERVE); \
                         checking its free blocks with STATFS instead (approximate if other \
                         mComponents write to it)"
                    );
                    self.space.insert(s, Space::Emulated(0));
                }
            }
        }
        let st = self.statfs(s)?;
        if blocks > st.blocks_free {
            return Ok(Reserve::Refused);
        }
        self.space.insert(s, Space::Emulated(blocks));
        Ok(Reserve::Granted)
    }
}
