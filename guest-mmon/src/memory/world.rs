//! What the home's work needs from outside: the program's file (through the vNode's buffer
//! cache, here or at another mComponent) and the owners of the process's vRegions (here or
//! elsewhere). A trait, so the home's logic reads the same whichever component answers.

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use lego_proto::fs::{self as fsproto, FsRequest, FsStat, MAX_IO, Request, errno, status_of};
use lego_proto::mem::{self as proto, PAGE};
use zerocopy::{FromBytes, IntoBytes};

/// A file in a vNode, as the file protocol names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// The vNode.
    pub vnode: u32,
    /// Its sComponent.
    pub storage: u32,
    /// The mComponent holding its buffer cache.
    pub cache: u32,
    /// The path.
    pub path: alloc::string::String,
}

/// The outside world of the home.
pub trait World {
    /// This mComponent's id.
    fn me(&self) -> u32;
    /// One file-protocol call to the mComponent `cache`; returns the reply's length.
    fn file_call(&mut self, cache: u32, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, u32>;
    /// One memory-protocol call to the owner `owner` (this mComponent included).
    fn owner_call(&mut self, owner: u32, op: u32, req: &[u8], out: &mut [u8])
    -> Result<usize, u32>;

    /// The size of a regular file (ENOENT, EISDIR...).
    fn file_size(&mut self, f: &FileRef) -> Result<u64, u32> {
        let req = encode(f, 0, 0)?;
        let mut out = [0u8; 64];
        let n = self.file_call(f.cache, fsproto::STAT, &req, &mut out)?;
        let st = FsStat::read_from_bytes(out.get(..n).ok_or(status_of(errno::EIO))?)
            .map_err(|_| status_of(errno::EIO))?;
        if st.kind != fsproto::kind::FILE {
            return Err(status_of(errno::EISDIR));
        }
        Ok(st.size)
    }

    /// Reads `out.len()` bytes of a file at `offset` (short only at its end: the rest zeros).
    fn file_read(&mut self, f: &FileRef, offset: u64, out: &mut [u8]) -> Result<(), u32> {
        let mut done = 0;
        while done < out.len() {
            let want = (out.len() - done).min(MAX_IO);
            let req = encode(f, offset + done as u64, want as u32)?;
            let n = self.file_call(f.cache, fsproto::READ, &req, &mut out[done..done + want])?;
            if n == 0 {
                out[done..].fill(0);
                break;
            }
            done += n;
        }
        Ok(())
    }

    /// Stores pages at an owner: `pages` of (address, page bytes), in messages of at most
    /// `MAX_PAGES`.
    fn owner_write(&mut self, owner: u32, pid: u32, pages: &[(u64, Vec<u8>)]) -> Result<(), u32> {
        for chunk in pages.chunks(proto::MAX_PAGES) {
            let h = proto::FlushRequest {
                pid,
                count: chunk.len() as u32,
            };
            let mut req = Vec::with_capacity(8 + chunk.len() * (8 + PAGE));
            req.extend_from_slice(h.as_bytes());
            for (va, _) in chunk {
                req.extend_from_slice(&va.to_le_bytes());
            }
            for (_, p) in chunk {
                req.extend_from_slice(p);
            }
            self.owner_call(owner, proto::OWNER_WRITE, &req, &mut [])?;
        }
        Ok(())
    }
}

/// A file-protocol request for `f`.
fn encode(f: &FileRef, offset: u64, len: u32) -> Result<Vec<u8>, u32> {
    let r = Request {
        head: FsRequest {
            vnode: f.vnode,
            storage: f.storage,
            offset,
            len,
            ..FsRequest::default()
        },
        path: &f.path,
        path2: "",
        data: &[],
    };
    let mut out = vec![0u8; r.encoded_len()];
    let n = r.encode(&mut out).ok_or(status_of(errno::ENAMETOOLONG))?;
    out.truncate(n);
    Ok(out)
}
