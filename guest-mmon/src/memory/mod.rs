//! The memory service: this mComponent as the home of processes (`home`) and as the owner of
//! vRegions (`owner`), over the frames the buffer cache left (`arena`).
//!
//! Owner requests (page fetches and flushes, the homes' updates) are served in the dispatcher,
//! so a fetch never waits behind file I/O or a home's work; home requests (exec, the memory
//! syscalls, exit) are deferred, because they call owners and buffer caches.

extern crate alloc;

pub mod arena;
pub mod home;
pub mod owner;
pub mod world;

use alloc::sync::Arc;

use guest_rt::rpc::Rpc;
use lego_proto::fs::{errno, status_of};
use lego_proto::mem as proto;
use lego_rpc::rpc::{DEFER, Deferred, RpcError};
use spin::Mutex;

use crate::files::Files;
use arena::Arena;
use home::Home;
use owner::Owner;
use world::World;

/// Linux errno values the file protocol's list lacks.
pub mod more_errno {
    /// No such process.
    pub const ESRCH: u32 = lego_linux::errno::ESRCH.raw() as u32;
    /// Bad file descriptor.
    pub const EBADF: u32 = lego_linux::errno::EBADF.raw() as u32;
    /// Bad address.
    pub const EFAULT: u32 = lego_linux::errno::EFAULT.raw() as u32;
    /// Try again (too many processes).
    pub const EAGAIN: u32 = lego_linux::errno::EAGAIN.raw() as u32;
    /// No such device (a writable shared file mapping).
    pub const ENODEV: u32 = lego_linux::errno::ENODEV.raw() as u32;
}

/// Serves one owner request (here, or for the home's own calls).
fn serve_owner(o: &mut Owner, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, u32> {
    let r = match op {
        proto::FETCH => {
            let (h, rest) = owner::decode::<proto::FetchRequest>(req)?;
            if h.flush_va != 0 {
                let page = rest.get(..proto::PAGE).ok_or(status_of(errno::EINVAL))?;
                o.store(h.pid, h.flush_va, page)?;
            }
            o.fetch(h.pid, h.va, h.npages, out)
        }
        proto::FLUSH | proto::OWNER_WRITE => o.store_many(req),
        proto::OWNER_VMAS => o.set_vmas(req),
        proto::OWNER_FREE => {
            let (h, _) = owner::decode::<proto::RangeRequest>(req)?;
            o.free_range(h.pid, h.addr, h.addr.saturating_add(h.len));
            Ok(0)
        }
        proto::OWNER_MOVE => {
            let (h, _) = owner::decode::<proto::MoveRequest>(req)?;
            o.move_range(h.pid, h.from, h.to, h.len).map(|()| 0)
        }
        proto::OWNER_EXIT => {
            let (h, _) = owner::decode::<proto::PidRequest>(req)?;
            o.exit(h.pid);
            Ok(0)
        }
        proto::OWNER_FORK => {
            let (h, _) = owner::decode::<proto::ForkRequest>(req)?;
            o.fork(h.parent, h.child).map(|()| 0)
        }
        _ => Err(lego_proto::rpc::status::UNKNOWN_OPCODE),
    };
    guest_rt::service::set_mem_free(o.free_bytes());
    r
}

/// The service's state.
pub struct Memory {
    me: u32,
    owner: Arc<Mutex<Owner>>,
    home: Home,
    reply: alloc::boxed::Box<[u8]>,
}

impl Memory {
    /// Takes every free frame for vRegions; `None` without memory for the bookkeeping.
    pub fn new(me: u32) -> Option<Memory> {
        let arena = Arena::take_all();
        let bytes = arena.total() * lego_proto::mem::PAGE as u64;
        let owner = Owner::new(arena)?;
        guest_rt::service::set_mem_free(owner.free_bytes());
        Some(Memory {
            me,
            owner: Arc::new(Mutex::new(owner)),
            home: Home::new(bytes),
            reply: alloc::vec![0u8; lego_proto::rpc::MAX_PAYLOAD].into_boxed_slice(),
        })
    }

    /// Bytes of frames for vRegions still free.
    pub fn free_bytes(&self) -> u64 {
        self.owner.lock().free_bytes()
    }

    /// Registers the handlers: owner requests served at once, home requests deferred.
    pub fn install(&mut self, rpc: &mut Rpc) {
        for op in [
            proto::FETCH,
            proto::FLUSH,
            proto::OWNER_VMAS,
            proto::OWNER_WRITE,
            proto::OWNER_FREE,
            proto::OWNER_EXIT,
            proto::OWNER_MOVE,
            proto::OWNER_FORK,
        ] {
            let o = self.owner.clone();
            rpc.handle(op, move |_, req, reply| {
                serve_owner(&mut o.lock(), op, req, reply)
            });
        }
        for op in [
            proto::EXEC,
            proto::MMAP,
            proto::MUNMAP,
            proto::MREMAP,
            proto::MPROTECT,
            proto::BRK,
            proto::MADVISE,
            proto::EXIT,
            proto::FORK,
        ] {
            rpc.handle(op, |_, _, _| Err(DEFER));
        }
    }

    /// Serves a deferred home request.
    pub fn deferred(&mut self, rpc: &mut Rpc, files: Option<&mut Files>, d: Deferred) {
        let mut w = RpcWorld {
            rpc,
            me: self.me,
            owner: &self.owner,
            files,
        };
        let out = &mut self.reply;
        let r = match d.opcode {
            proto::EXEC => self.home.exec(&mut w, &d.req, out),
            proto::EXIT => self.home.exit(&mut w, &d.req),
            proto::FORK => self.home.fork(&mut w, &d.req),
            op => self.home.syscall(&mut w, op, &d.req, out),
        };
        let reply = &self.reply;
        rpc.reply(d, r.map(|n| &reply[..n]));
    }
}

/// The world as the guest sees it: RPCs, this component's buffer cache and owner.
struct RpcWorld<'a> {
    rpc: &'a mut Rpc,
    me: u32,
    owner: &'a Arc<Mutex<Owner>>,
    files: Option<&'a mut Files>,
}

fn rpc_status(e: RpcError) -> u32 {
    match e {
        RpcError::Remote(s) => s,
        other => {
            guest_rt::println!("mmon: a call to another component failed: {other:?}");
            status_of(errno::EHOSTDOWN)
        }
    }
}

impl World for RpcWorld<'_> {
    fn me(&self) -> u32 {
        self.me
    }

    fn file_call(&mut self, cache: u32, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, u32> {
        if cache == self.me {
            return match self.files.as_mut() {
                Some(f) => f.serve_local(self.rpc, op, req, out),
                None => Err(status_of(errno::EHOSTDOWN)),
            };
        }
        self.rpc.call(cache, op, req, out).map_err(rpc_status)
    }

    fn owner_call(
        &mut self,
        owner: u32,
        op: u32,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, u32> {
        if owner == self.me {
            return serve_owner(&mut self.owner.lock(), op, req, out);
        }
        self.rpc.call(owner, op, req, out).map_err(rpc_status)
    }
}
