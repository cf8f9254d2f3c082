//! The home's side of a process's memory (LegoOS §4.4): its vma tree, its break and its vRegion
//! array; `exec` (load the ELF through a buffer cache, build the stack) and the memory
//! syscalls. Owners (this mComponent or others) learn their part through [`World`].

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use lego_linux::elf::{self, ElfKind, ReadError};
use lego_linux::stack::{self, AuxInfo, StackLimits, StackSpec};
use lego_mm::linux as mmlinux;
use lego_mm::vma::{MapRequest, Placement};
use lego_mm::vregion::{RoundRobin, Single};
use lego_mm::{Brk, Image, Kind, Layout, Placer, Prot, Random, VRegions, VmFlags, Vma, VmaTree};
use lego_proto::fs::{errno, status_of};
use lego_proto::mem::{self as proto, PAGE, vma_flags};
use zerocopy::IntoBytes;

use super::more_errno;
use super::owner::decode;
use super::world::{FileRef, World};

/// Most processes a home keeps.
const MAX_PROCESSES: usize = 1024;
/// Most vmas per process (Linux's `max_map_count`).
const MAX_VMAS: usize = 65_530;
/// `RLIMIT_STACK`.
const STACK_LIMIT: u64 = 8 << 20;
/// Most files a process may have mapped.
const MAX_FILES: usize = 256;

const PG: u64 = PAGE as u64;

/// How vRegions are placed for one process.
#[derive(Clone, Debug)]
enum Policy {
    RoundRobin(RoundRobin),
    Single(Single),
}

impl Placer for Policy {
    fn place(&mut self, index: u32, bytes: u64) -> Option<u32> {
        match self {
            Policy::RoundRobin(p) => p.place(index, bytes),
            Policy::Single(p) => p.place(index, bytes),
        }
    }
}

/// A process whose home is here.
#[derive(Debug)]
struct Proc {
    tree: VmaTree,
    brk: Brk,
    regions: VRegions,
    policy: Policy,
    files: Vec<FileRef>,
    /// The most memory one request may ask for (`lego_mm::linux::overcommits`): what the
    /// mComponents its vRegions may go to hold.
    commit_limit: u64,
}

/// Every process whose home is here.
#[derive(Debug, Default)]
pub struct Home {
    procs: BTreeMap<u32, Proc>,
    /// Programs loaded.
    pub execs: u64,
    /// This mComponent's memory for pages.
    memory_bytes: u64,
}

/// A `MapReply` being built.
#[derive(Debug, Default)]
struct Reply {
    head: proto::MapReply,
    vmas: Vec<proto::Vma>,
    regions: Vec<proto::Region>,
    drops: Vec<(u64, u64)>,
}

impl Reply {
    fn encode(self, out: &mut [u8]) -> Result<usize, u32> {
        let mut h = self.head;
        h.nvmas = self.vmas.len() as u32;
        h.nregions = self.regions.len() as u32;
        h.ndrops = self.drops.len() as u32;
        let mut b = Vec::new();
        b.extend_from_slice(h.as_bytes());
        for v in &self.vmas {
            b.extend_from_slice(v.as_bytes());
        }
        for r in &self.regions {
            b.extend_from_slice(r.as_bytes());
        }
        for (s, e) in &self.drops {
            b.extend_from_slice(&s.to_le_bytes());
            b.extend_from_slice(&e.to_le_bytes());
        }
        let dst = out.get_mut(..b.len()).ok_or(status_of(errno::ENOMEM))?;
        dst.copy_from_slice(&b);
        Ok(b.len())
    }
}

/// A vma as the pComponent sees it.
fn to_proto(v: &Vma) -> proto::Vma {
    let mut flags = 0;
    if v.kind == Kind::Anon {
        flags |= vma_flags::ANON;
    }
    if v.flags.grows_down() {
        flags |= vma_flags::STACK;
    }
    proto::Vma {
        start: v.start,
        end: v.end,
        prot: v.prot.bits(),
        flags,
    }
}

fn fail(e: u32) -> u32 {
    status_of(e)
}

fn mm_fail(e: lego_mm::Error) -> u32 {
    status_of(e.errno())
}

/// The exec failure reply: an errno and a one-line reason.
fn exec_error(out: &mut [u8], e: u32, msg: &str) -> Result<usize, u32> {
    let msg = &msg.as_bytes()[..msg.len().min(400)];
    let h = proto::ExecReply {
        errno: e,
        msg_len: msg.len() as u32,
        ..proto::ExecReply::default()
    };
    let n = core::mem::size_of::<proto::ExecReply>();
    let out = out.get_mut(..n + msg.len()).ok_or(fail(errno::EINVAL))?;
    out[..n].copy_from_slice(h.as_bytes());
    out[n..].copy_from_slice(msg);
    Ok(n + msg.len())
}

/// An exec failure after the old image was freed (`gone`): the reply's `sp` is `u64::MAX`,
/// which tells the pComponent the process cannot go on.
fn exec_error_gone(out: &mut [u8], gone: bool, e: u32, msg: &str) -> Result<usize, u32> {
    let n = exec_error(out, e, msg)?;
    if gone {
        let h = proto::ExecReply {
            errno: e,
            msg_len: (n - core::mem::size_of::<proto::ExecReply>()) as u32,
            sp: u64::MAX,
            ..proto::ExecReply::default()
        };
        out[..core::mem::size_of::<proto::ExecReply>()].copy_from_slice(h.as_bytes());
    }
    Ok(n)
}

/// A small cache of the file being loaded (one `MAX_IO` chunk).
struct FileChunks<'f> {
    file: &'f FileRef,
    len: u64,
    at: u64,
    buf: Vec<u8>,
}

impl FileChunks<'_> {
    fn read<W: World>(&mut self, w: &mut W, offset: u64, out: &mut [u8]) -> Result<(), u32> {
        const CHUNK: u64 = lego_proto::fs::MAX_IO as u64;
        let mut done = 0usize;
        while done < out.len() {
            let pos = offset + done as u64;
            if pos >= self.len {
                out[done..].fill(0);
                return Ok(());
            }
            let base = pos - pos % CHUNK;
            if self.buf.is_empty() || self.at != base {
                let n = CHUNK.min(self.len - base) as usize;
                self.buf.resize(n, 0);
                w.file_read(self.file, base, &mut self.buf)?;
                self.at = base;
            }
            let from = (pos - base) as usize;
            let n = (self.buf.len() - from).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[from..from + n]);
            done += n;
        }
        Ok(())
    }
}

impl Home {
    /// The home of processes on an mComponent with `memory_bytes` for pages.
    pub fn new(memory_bytes: u64) -> Home {
        Home {
            memory_bytes,
            ..Home::default()
        }
    }

    /// `EXEC`.
    pub fn exec<W: World>(&mut self, w: &mut W, req: &[u8], out: &mut [u8]) -> Result<usize, u32> {
        let (h, rest) = decode::<proto::ExecRequest>(req)?;
        let (pl, al, el) = (h.path_len as usize, h.args_len as usize, h.env_len as usize);
        if rest.len() != pl + al + el || pl + al + el > proto::MAX_EXEC_STRINGS {
            return Err(fail(errno::EINVAL));
        }
        let path = core::str::from_utf8(&rest[..pl]).map_err(|_| fail(errno::EINVAL))?;
        let argv: Vec<&[u8]> = proto::strings(&rest[pl..pl + al]).collect();
        let envp: Vec<&[u8]> = proto::strings(&rest[pl + al..]).collect();
        let replace = h.flags & proto::exec_flags::REPLACE != 0;
        if self.procs.contains_key(&h.pid) != replace {
            return match replace {
                true => exec_error(out, more_errno::ESRCH, "no such process here"),
                false => exec_error(out, errno::EEXIST, "a process with this id exists already"),
            };
        }
        if !replace && self.procs.len() >= MAX_PROCESSES {
            return exec_error(out, errno::ENOMEM, "too many processes on this mComponent");
        }
        let file = FileRef {
            vnode: h.vnode,
            storage: h.storage,
            cache: h.cache,
            path: String::from(path),
        };
        let len = match w.file_size(&file) {
            Ok(l) => l,
            Err(s) => {
                let e = lego_proto::fs::errno_of(s).unwrap_or(errno::EIO);
                return exec_error(out, e, lego_proto::fs::errno_text(e));
            }
        };
        let mut chunks = FileChunks {
            file: &file,
            len,
            at: 0,
            buf: Vec::new(),
        };
        let img = match elf::read_image(len, |off, b| chunks.read(w, off, b)) {
            Ok(i) => i,
            Err(ReadError::Elf(e)) => {
                return exec_error(out, u32::from(e.errno().raw()), &format!("{e}"));
            }
            Err(ReadError::Read(s)) => {
                let e = lego_proto::fs::errno_of(s).unwrap_or(errno::EIO);
                return exec_error(out, e, lego_proto::fs::errno_text(e));
            }
        };
        let img = match img.place(elf::DEFAULT_PIE_BASE) {
            Ok(i) => i,
            Err(e) => return exec_error(out, u32::from(e.errno().raw()), &format!("{e}")),
        };
        let layout = Layout::linux(STACK_LIMIT, Some(Random::from_seed(h.seed)));
        let mut tree = VmaTree::new(layout, MAX_VMAS);
        let n = (h.ncandidates as usize).min(proto::MAX_CANDIDATES);
        let cands: Vec<u32> = h.candidates[..n].to_vec();
        let mut policy = match (h.policy, cands.as_slice()) {
            (proto::policy::ROUND_ROBIN, c) if c.len() > 1 => {
                Policy::RoundRobin(RoundRobin::new(cands.clone()))
            }
            _ => Policy::Single(Single(w.me())),
        };
        // The segments' pages, those two segments share with the union of their permissions.
        let mut ranges: Vec<(u64, u64, Prot)> = Vec::new();
        for s in img.segments() {
            let p = Prot::from_bits_truncate(s.prot.mmap_bits());
            match ranges.last_mut() {
                Some(last) if s.map_start() < last.1 => {
                    let shared = (s.map_start(), last.1.min(s.map_end()), last.2 | p);
                    last.1 = s.map_start();
                    if last.0 >= last.1 {
                        ranges.pop();
                    }
                    ranges.push(shared);
                    if s.map_end() > shared.1 {
                        ranges.push((shared.1, s.map_end(), p));
                    }
                }
                _ => ranges.push((s.map_start(), s.map_end(), p)),
            }
        }
        let mut regions = VRegions::new();
        // The segments are private mappings of the program's file (file 0): filled now, and
        // fetched by the pComponent rather than zero-filled (bss included: zeros from the owner).
        let first = img.segments().first().map_or(0, |s| s.map_start());
        let first_off = img.segments().first().map_or(0, |s| s.map_offset());
        for &(lo, hi, p) in &ranges {
            let off = first_off.saturating_add(lo - first);
            let r = MapRequest::file(0, off, hi - lo, p).at(lo, Placement::Fixed);
            if let Err(e) = tree.map(&r) {
                return exec_error(out, e.errno(), "the program's segments do not fit");
            }
        }
        // The stack: the whole rlimit is mapped up front (pages cost nothing until written),
        // so it never needs to grow behind the pComponent's back.
        let mut random = [0u8; 16];
        random[..8].copy_from_slice(&h.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
        random[8..].copy_from_slice(&(h.seed ^ 0xA5A5_5A5A_DEAD_BEEF).to_le_bytes());
        let aux = AuxInfo::for_image(&img, random);
        let execfn = argv.first().copied().unwrap_or(path.as_bytes());
        let st = match stack::build(&StackSpec {
            top: layout.stack_top,
            argv: &argv,
            envp: &envp,
            execfn,
            aux: &aux,
            limits: StackLimits::LINUX,
        }) {
            Ok(s) => s,
            Err(e) => {
                return exec_error(
                    out,
                    u32::from(e.errno().raw()),
                    "arguments and environment too large",
                );
            }
        };
        let stack_lo = layout.stack_top - STACK_LIMIT;
        let r = MapRequest::anon(STACK_LIMIT, Prot::READ | Prot::WRITE)
            .at(stack_lo, Placement::Fixed)
            .with_flags(VmFlags::PRIVATE | VmFlags::GROWS_DOWN);
        if let Err(e) = tree.map(&r) {
            return exec_error(out, e.errno(), "no room for the stack");
        }
        let brk_start = match img.kind() {
            ElfKind::Exec => layout.brk_start(Image::Exec { end: img.brk() }),
            ElfKind::StaticPie => layout.brk_start(Image::StaticPie),
        };
        let brk = Brk::new(brk_start, u64::MAX, 0);
        // `execve`'s point of no return: the new program is loadable, the old image goes
        // (the owners key pages by pid). A failure from here on ends the process.
        if replace && let Some(mut old) = self.procs.remove(&h.pid) {
            self.free_everywhere(w, h.pid, &mut old);
        }
        // Owners for everything mapped.
        let mapped: Vec<(u64, u64)> = tree.iter().map(|v| (v.start, v.end)).collect();
        for (lo, hi) in &mapped {
            if regions.ensure_owned(*lo..*hi, &mut policy).is_err() {
                return exec_error_gone(
                    out,
                    replace,
                    errno::ENOMEM,
                    "no mComponent can hold the program",
                );
            }
        }
        let mut p = Proc {
            tree,
            brk,
            regions,
            policy,
            files: alloc::vec![file.clone()],
            // Candidates are mComponents like this one: as much memory each.
            commit_limit: self.memory_bytes.saturating_mul(n.max(1) as u64),
        };
        // Owners learn their vmas before they receive pages.
        if let Err(s) = self.tell_owners(w, h.pid, &p, 0..lego_mm::layout::USER_TOP) {
            self.free_everywhere(w, h.pid, &mut p);
            let msg = format!(
                "an owner of its memory refused its vmas ({})",
                lego_proto::fs::errno_text(errno_or(s))
            );
            return exec_error_gone(out, replace, errno_or(s), &msg);
        }
        // The pages: the segments' file bytes (bss and holes stay unwritten: zero), then the
        // stack image.
        let mut pages: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut staged = 0usize;
        for s in img.segments() {
            let mut va = s.map_start();
            while va < s.file_end() {
                let lo = va.max(s.vaddr);
                let hi = (va + PG).min(s.file_end());
                let page = pages.entry(va).or_insert_with(|| vec![0u8; PAGE]);
                let off = s.offset + (lo - s.vaddr);
                if let Err(st) =
                    chunks.read(w, off, &mut page[(lo - va) as usize..(hi - va) as usize])
                {
                    self.free_everywhere(w, h.pid, &mut p);
                    return exec_error_gone(
                        out,
                        replace,
                        errno_or(st),
                        "reading the program failed",
                    );
                }
                va += PG;
                staged += 1;
                if staged >= 256 {
                    if let Err(st) = flush_pages(w, h.pid, &p.regions, &mut pages) {
                        self.free_everywhere(w, h.pid, &mut p);
                        return exec_error_gone(
                            out,
                            replace,
                            errno_or(st),
                            "storing the program failed",
                        );
                    }
                    staged = 0;
                }
            }
        }
        for (i, chunk) in st.bytes.chunks(PAGE).enumerate() {
            let mut page = vec![0u8; PAGE];
            page[..chunk.len()].copy_from_slice(chunk);
            pages.insert(st.base + (i * PAGE) as u64, page);
        }
        if let Err(st) = flush_pages(w, h.pid, &p.regions, &mut pages) {
            self.free_everywhere(w, h.pid, &mut p);
            return exec_error_gone(out, replace, errno_or(st), "storing the program failed");
        }
        let reply = proto::ExecReply {
            errno: 0,
            msg_len: 0,
            entry: img.entry(),
            sp: st.rsp,
            brk: brk_start,
            stack_written: st.base,
            nvmas: p.tree.len() as u32,
            nregions: p.regions.len() as u32,
        };
        let mut b = Vec::new();
        b.extend_from_slice(reply.as_bytes());
        for v in p.tree.iter() {
            b.extend_from_slice(to_proto(v).as_bytes());
        }
        for (index, owner) in p.regions.iter() {
            b.extend_from_slice(proto::Region { index, owner }.as_bytes());
        }
        let Some(dst) = out.get_mut(..b.len()) else {
            self.free_everywhere(w, h.pid, &mut p);
            return exec_error_gone(
                out,
                replace,
                errno::ENOMEM,
                "the address space does not fit a reply",
            );
        };
        dst.copy_from_slice(&b);
        self.procs.insert(h.pid, p);
        self.execs += 1;
        Ok(b.len())
    }

    /// Tells every owner of a vRegion touching `range` its vmas there.
    fn tell_owners<W: World>(
        &self,
        w: &mut W,
        pid: u32,
        p: &Proc,
        range: Range<u64>,
    ) -> Result<(), u32> {
        for (index, owner) in p.regions.iter() {
            let r = lego_mm::vregion::range_of(index);
            if r.end <= range.start || r.start >= range.end {
                continue;
            }
            send_vmas(w, pid, owner, &p.tree, r)?;
        }
        Ok(())
    }

    /// Frees a process's memory at every owner (best effort: an owner that is gone lost it).
    fn free_everywhere<W: World>(&mut self, w: &mut W, pid: u32, p: &mut Proc) {
        let mut owners: Vec<u32> = p
            .regions
            .release_all()
            .into_iter()
            .map(|(_, o)| o)
            .collect();
        owners.push(w.me());
        owners.sort_unstable();
        owners.dedup();
        let req = proto::PidRequest { pid, _pad: 0 };
        for o in owners {
            let _ = w.owner_call(o, proto::OWNER_EXIT, req.as_bytes(), &mut []);
        }
    }

    /// `FORK`: the child's vma tree, break and vRegions are the parent's; each owner shares
    /// the parent's pages with the child (`OWNER_FORK`). The pComponent wrote the parent's
    /// dirty lines back first. All or nothing.
    pub fn fork<W: World>(&mut self, w: &mut W, req: &[u8]) -> Result<usize, u32> {
        let (h, _) = decode::<proto::ForkRequest>(req)?;
        if self.procs.contains_key(&h.child) || h.child == h.parent {
            return Err(fail(errno::EEXIST));
        }
        if self.procs.len() >= MAX_PROCESSES {
            return Err(fail(more_errno::EAGAIN));
        }
        let parent = self.procs.get(&h.parent).ok_or(fail(more_errno::ESRCH))?;
        let mut child = Proc {
            tree: parent.tree.clone(),
            brk: parent.brk,
            regions: parent.regions.clone(),
            policy: parent.policy.clone(),
            files: parent.files.clone(),
            commit_limit: parent.commit_limit,
        };
        let mut owners: Vec<u32> = child.regions.iter().map(|(_, o)| o).collect();
        owners.sort_unstable();
        owners.dedup();
        for o in owners {
            if let Err(s) = w.owner_call(o, proto::OWNER_FORK, req, &mut []) {
                // Those that took it give it back (OWNER_EXIT of the child everywhere).
                self.free_everywhere(w, h.child, &mut child);
                return Err(s);
            }
        }
        self.procs.insert(h.child, child);
        Ok(0)
    }

    /// `EXIT`.
    pub fn exit<W: World>(&mut self, w: &mut W, req: &[u8]) -> Result<usize, u32> {
        let (h, _) = decode::<proto::PidRequest>(req)?;
        let mut p = self.procs.remove(&h.pid).ok_or(fail(errno::ENOENT))?;
        self.free_everywhere(w, h.pid, &mut p);
        Ok(0)
    }

    /// The memory syscalls.
    pub fn syscall<W: World>(
        &mut self,
        w: &mut W,
        op: u32,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, u32> {
        let pid = decode::<proto::PidRequest>(req)?.0.pid;
        let mut p = self.procs.remove(&pid).ok_or(fail(more_errno::ESRCH))?;
        let r = Self::apply(w, pid, &mut p, op, req);
        self.procs.insert(pid, p);
        r?.encode(out)
    }

    fn apply<W: World>(
        w: &mut W,
        pid: u32,
        p: &mut Proc,
        op: u32,
        req: &[u8],
    ) -> Result<Reply, u32> {
        let mut reply = Reply::default();
        let mut freed: Vec<Vma> = Vec::new();
        let (lo, hi) = match op {
            proto::MMAP => {
                let (m, rest) = decode::<proto::MmapRequest>(req)?;
                let file = if m.flags & mmlinux::MAP_ANONYMOUS == 0 {
                    let path = rest
                        .get(..m.path_len as usize)
                        .and_then(|b| core::str::from_utf8(b).ok())
                        .ok_or(fail(errno::EINVAL))?;
                    let f = FileRef {
                        vnode: m.vnode,
                        storage: m.storage,
                        cache: m.cache,
                        path: String::from(path),
                    };
                    let id = match p.files.iter().position(|x| *x == f) {
                        Some(i) => i,
                        None if p.files.len() < MAX_FILES => {
                            p.files.push(f);
                            p.files.len() - 1
                        }
                        None => return Err(fail(errno::ENOMEM)),
                    };
                    Some(mmlinux::FileMode {
                        file: id as u32,
                        read: true,
                        write: true,
                    })
                } else {
                    None
                };
                let mr = mmlinux::mmap(m.addr, m.len, m.prot, m.flags, file, m.offset)
                    .map_err(mm_fail)?;
                if mmlinux::overcommits(&mr, m.flags, p.commit_limit) {
                    return Err(fail(errno::ENOMEM));
                }
                if mr.flags.shared() && !matches!(mr.kind, Kind::Anon) {
                    // Writable shared file mappings are unsupported by design (LegoOS too).
                    if mr.prot.contains(Prot::WRITE) {
                        return Err(fail(more_errno::ENODEV));
                    }
                }
                let mapped = p.tree.map(&mr).map_err(mm_fail)?;
                let (lo, hi) = (
                    mapped.addr,
                    mapped.addr + lego_mm::page_up(m.len).unwrap_or(0),
                );
                if let Err(e) = p.regions.ensure_owned(lo..hi, &mut p.policy) {
                    let _ = p.tree.unmap(lo, hi - lo);
                    return Err(mm_fail(e));
                }
                freed = mapped.replaced;
                reply.head.result = mapped.addr;
                if let Kind::File { file, offset } = mr.kind {
                    let f = p
                        .files
                        .get(file as usize)
                        .cloned()
                        .ok_or(fail(more_errno::EBADF))?;
                    // Private file mappings are filled now: the owners hold the file's bytes
                    // as the process's own pages (copy-on-write with the copy made at once).
                    tell_range(w, pid, p, lo..hi)?;
                    free_pieces(w, pid, &p.regions, &freed)?;
                    freed.clear();
                    load_file(w, pid, &p.regions, &f, offset, lo, hi)?;
                }
                (lo, hi)
            }
            proto::MUNMAP => {
                let (r, _) = decode::<proto::RangeRequest>(req)?;
                freed = p.tree.unmap(r.addr, r.len).map_err(mm_fail)?;
                reply.head.result = 0;
                let hi = r.addr.saturating_add(lego_mm::page_up(r.len).unwrap_or(0));
                (r.addr, hi)
            }
            proto::MPROTECT => {
                let (r, _) = decode::<proto::RangeRequest>(req)?;
                let prot = mmlinux::mprotect_prot(r.arg).map_err(mm_fail)?;
                let hi = r.addr.saturating_add(lego_mm::page_up(r.len).unwrap_or(0));
                let res = p.tree.protect(r.addr, r.len, prot);
                tell_range(w, pid, p, r.addr..hi)?;
                if let Err(partial) = res {
                    // Part of the range changed: the caller learns it with the error.
                    return Err(status_of(partial.errno()));
                }
                (r.addr, hi)
            }
            proto::BRK => {
                let (r, _) = decode::<proto::RangeRequest>(req)?;
                let old = p.brk.current();
                if r.addr > old && r.addr - old > p.commit_limit {
                    // More than there is: refused, as Linux's heuristic refuses it.
                    reply.head.result = old;
                    return Ok(reply);
                }
                let o = p.brk.set(&mut p.tree, r.addr);
                if let Some(g) = &o.grown
                    && p.regions.ensure_owned(g.clone(), &mut p.policy).is_err()
                {
                    let _ = p.brk.set(&mut p.tree, old);
                    reply.head.result = old;
                    return Ok(reply);
                }
                reply.head.result = o.brk;
                freed = o.freed;
                let lo = lego_mm::page_down(old.min(o.brk));
                let hi = lego_mm::page_up(old.max(o.brk)).unwrap_or(lo);
                (lo, hi.max(lo))
            }
            proto::MADVISE => {
                let (r, _) = decode::<proto::RangeRequest>(req)?;
                const MADV_DONTNEED: u32 = 4;
                const MADV_FREE: u32 = 8;
                let hi = r.addr.saturating_add(lego_mm::page_up(r.len).unwrap_or(0));
                if r.arg == MADV_DONTNEED || r.arg == MADV_FREE {
                    let pieces = match p.tree.advise_dontneed(r.addr, r.len) {
                        Ok(v) => v,
                        Err(partial) => partial.done,
                    };
                    free_pieces(w, pid, &p.regions, &pieces)?;
                    for v in &pieces {
                        reply.drops.push((v.start, v.end));
                        if let Kind::File { file, offset } = v.kind {
                            let f = p
                                .files
                                .get(file as usize)
                                .cloned()
                                .ok_or(fail(more_errno::EBADF))?;
                            load_file(w, pid, &p.regions, &f, offset, v.start, v.end)?;
                        }
                    }
                }
                reply.head.result = 0;
                (r.addr, hi.max(r.addr))
            }
            proto::MREMAP => {
                let (r, _) = decode::<proto::MremapRequest>(req)?;
                let flags = mmlinux::mremap_flags(r.flags).map_err(mm_fail)?;
                if r.new_len > r.old_len && r.new_len - r.old_len > p.commit_limit {
                    return Err(fail(errno::ENOMEM));
                }
                let rm = p
                    .tree
                    .remap(r.old_addr, r.old_len, r.new_len, flags, r.new_addr)
                    .map_err(mm_fail)?;
                let new_hi = rm.addr + lego_mm::page_up(r.new_len).unwrap_or(0);
                if let Err(e) = p.regions.ensure_owned(rm.addr..new_hi, &mut p.policy) {
                    return Err(mm_fail(e));
                }
                let old_hi = r
                    .old_addr
                    .saturating_add(lego_mm::page_up(r.old_len).unwrap_or(0));
                free_pieces(w, pid, &p.regions, &rm.freed)?;
                for v in &rm.freed {
                    reply.drops.push((v.start, v.end));
                }
                if let Some(mv) = rm.moved {
                    // Before any owner learns the new vmas (which would drop the old range's
                    // pages where it shares a vRegion with the new one).
                    move_pages(w, pid, p, mv.from, mv.to, mv.len)?;
                    reply.head.moved_from = mv.from;
                    reply.head.moved_len = mv.len;
                    reply.drops.push((mv.from, mv.from + mv.len));
                }
                reply.head.result = rm.addr;
                let lo = r.old_addr.min(rm.addr);
                (lo, old_hi.max(new_hi))
            }
            _ => return Err(lego_proto::rpc::status::UNKNOWN_OPCODE),
        };
        // Pages of what was unmapped are gone; vRegions with nothing mapped are released.
        free_pieces(w, pid, &p.regions, &freed)?;
        for v in &freed {
            reply.drops.push((v.start, v.end));
        }
        let (lo, hi) = (lo.min(hi), hi.max(lo));
        let mut span = (lo, hi);
        for v in &freed {
            span = (span.0.min(v.start), span.1.max(v.end));
        }
        tell_range(w, pid, p, span.0..span.1)?;
        // vRegions left with nothing mapped are released (their owners' views are empty:
        // told above).
        p.regions.release_unused(span.0..span.1, &p.tree);
        reply.head.lo = span.0;
        reply.head.hi = span.1;
        reply.vmas = p
            .tree
            .vmas_in(span.0..span.1)
            .map(|v| to_proto(&v))
            .collect();
        reply.regions = p
            .regions
            .iter()
            .map(|(index, owner)| proto::Region { index, owner })
            .collect();
        Ok(reply)
    }
}

fn errno_or(status: u32) -> u32 {
    lego_proto::fs::errno_of(status).unwrap_or(errno::EIO)
}

/// Sends `owner` the vmas of `pid` inside `range`.
fn send_vmas<W: World>(
    w: &mut W,
    pid: u32,
    owner: u32,
    tree: &VmaTree,
    range: Range<u64>,
) -> Result<(), u32> {
    // The last vRegion ends above the user half's last page (`USER_TOP`).
    let range = range.start..range.end.min(lego_mm::layout::USER_TOP);
    let vmas: Vec<proto::Vma> = tree.vmas_in(range.clone()).map(|v| to_proto(&v)).collect();
    let h = proto::OwnerVmas {
        pid,
        count: vmas.len() as u32,
        lo: range.start,
        hi: range.end,
    };
    let mut req = Vec::new();
    req.extend_from_slice(h.as_bytes());
    for v in &vmas {
        req.extend_from_slice(v.as_bytes());
    }
    w.owner_call(owner, proto::OWNER_VMAS, &req, &mut [])?;
    Ok(())
}

/// Tells the owners of the vRegions `range` touches their vmas there.
fn tell_range<W: World>(w: &mut W, pid: u32, p: &Proc, range: Range<u64>) -> Result<(), u32> {
    for (index, owner) in p.regions.iter() {
        let r = lego_mm::vregion::range_of(index);
        if r.end <= range.start || r.start >= range.end {
            continue;
        }
        send_vmas(w, pid, owner, &p.tree, r)?;
    }
    Ok(())
}

/// Frees the pages of unmapped pieces at their owners.
fn free_pieces<W: World>(
    w: &mut W,
    pid: u32,
    regions: &VRegions,
    pieces: &[Vma],
) -> Result<(), u32> {
    for v in pieces {
        for_each_owner(regions, v.start..v.end, |owner, lo, hi| {
            let r = proto::RangeRequest {
                pid,
                arg: 0,
                addr: lo,
                len: hi - lo,
            };
            w.owner_call(owner, proto::OWNER_FREE, r.as_bytes(), &mut [])
                .map(|_| ())
        })?;
    }
    Ok(())
}

/// Calls `f(owner, lo, hi)` for each vRegion piece of `range` that has an owner.
fn for_each_owner(
    regions: &VRegions,
    range: Range<u64>,
    mut f: impl FnMut(u32, u64, u64) -> Result<(), u32>,
) -> Result<(), u32> {
    let mut at = range.start;
    while at < range.end {
        let end = ((at / proto::VREGION) + 1)
            .saturating_mul(proto::VREGION)
            .min(range.end);
        if let Some(owner) = regions.owner(at) {
            f(owner, at, end)?;
        }
        at = end;
    }
    Ok(())
}

/// Sends staged pages to their owners and empties the stage.
fn flush_pages<W: World>(
    w: &mut W,
    pid: u32,
    regions: &VRegions,
    pages: &mut BTreeMap<u64, Vec<u8>>,
) -> Result<(), u32> {
    let mut per_owner: BTreeMap<u32, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
    for (va, page) in core::mem::take(pages) {
        if page.iter().all(|&b| b == 0) {
            continue;
        }
        let owner = regions.owner(va).ok_or(fail(more_errno::EFAULT))?;
        per_owner.entry(owner).or_default().push((va, page));
    }
    for (owner, list) in per_owner {
        w.owner_write(owner, pid, &list)?;
    }
    Ok(())
}

/// Fills `[lo, hi)` of `pid` with the file's bytes from `offset` (a private file mapping).
fn load_file<W: World>(
    w: &mut W,
    pid: u32,
    regions: &VRegions,
    f: &FileRef,
    offset: u64,
    lo: u64,
    hi: u64,
) -> Result<(), u32> {
    let size = w.file_size(f)?;
    let mut pages = BTreeMap::new();
    let mut va = lo;
    let mut buf = vec![0u8; lego_proto::fs::MAX_IO];
    while va < hi {
        let off = offset + (va - lo);
        if off >= size {
            break;
        }
        let n = ((hi - va) as usize).min(buf.len());
        w.file_read(f, off, &mut buf[..n])?;
        for (i, chunk) in buf[..n].chunks(PAGE).enumerate() {
            let mut page = vec![0u8; PAGE];
            page[..chunk.len()].copy_from_slice(chunk);
            pages.insert(va + (i * PAGE) as u64, page);
        }
        va += n as u64;
        if pages.len() >= 256 {
            flush_pages(w, pid, regions, &mut pages)?;
        }
    }
    // Bytes past the end of the file inside the last page read as zero.
    if let Some((&last, page)) = pages.iter_mut().next_back() {
        let file_end_va = lo + size.saturating_sub(offset);
        if file_end_va > last && file_end_va < last + PG {
            page[(file_end_va - last) as usize..].fill(0);
        }
    }
    flush_pages(w, pid, regions, &mut pages)
}

/// Moves pages of `pid` (mremap), between owners if they differ. The tree already has the
/// new vmas; the owners do not yet.
fn move_pages<W: World>(
    w: &mut W,
    pid: u32,
    p: &Proc,
    from: u64,
    to: u64,
    len: u64,
) -> Result<(), u32> {
    let regions = &p.regions;
    let same = regions.owner(from) == regions.owner(to)
        && regions.owner(from + len - 1) == regions.owner(from)
        && regions.owner(to + len - 1) == regions.owner(to);
    if let (true, Some(owner)) = (same, regions.owner(from)) {
        let r = proto::MoveRequest {
            pid,
            _pad: 0,
            from,
            to,
            len,
        };
        w.owner_call(owner, proto::OWNER_MOVE, r.as_bytes(), &mut [])?;
        return Ok(());
    }
    // Across owners: the destination's vRegions (those apart from the source's) learn their
    // vmas, then each page is fetched from the old owner and written to the new one.
    let old_regions = lego_mm::vregion::index_of(from).unwrap_or(0)
        ..=lego_mm::vregion::index_of(from + len - 1).unwrap_or(0);
    for (index, owner) in regions.iter() {
        let r = lego_mm::vregion::range_of(index);
        if r.end <= to || r.start >= to + len || old_regions.contains(&index) {
            continue;
        }
        send_vmas(w, pid, owner, &p.tree, r)?;
    }
    let mut buf = vec![0u8; PAGE];
    let mut off = 0;
    while off < len {
        let (src, dst) = (from + off, to + off);
        let owner_src = regions.owner(src).ok_or(fail(more_errno::EFAULT))?;
        let owner_dst = regions.owner(dst).ok_or(fail(more_errno::EFAULT))?;
        let f = proto::FetchRequest {
            pid,
            npages: 1,
            va: src,
            flush_va: 0,
        };
        w.owner_call(owner_src, proto::FETCH, f.as_bytes(), &mut buf)?;
        if buf.iter().any(|&b| b != 0) {
            w.owner_write(owner_dst, pid, &[(dst, buf.clone())])?;
        }
        off += PG;
    }
    for_each_owner(regions, from..from + len, |owner, lo, hi| {
        let r = proto::RangeRequest {
            pid,
            arg: 0,
            addr: lo,
            len: hi - lo,
        };
        w.owner_call(owner, proto::OWNER_FREE, r.as_bytes(), &mut [])
            .map(|_| ())
    })
}
