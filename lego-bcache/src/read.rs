//! The read path: copy cached pages, fetch missing ones in coalesced runs (plus readahead).

use crate::backend::{Backend, FileKey, PAGE, PAGE_U64};
use crate::readahead::ReadSpan;
use crate::slots::State;
use crate::{Cache, Error};

/// Copies the part of page `p` (`data`) that lies in the read `[offset, end)` into `buf`
/// (which starts at `offset`). `None` copies zeros.
fn copy_out(data: Option<&[u8; PAGE]>, p: u64, offset: u64, end: u64, buf: &mut [u8]) {
    let start = p * PAGE_U64;
    let (a, z) = (offset.max(start), end.min(start + PAGE_U64));
    if a >= z {
        return;
    }
    let dst = &mut buf[(a - offset) as usize..(z - offset) as usize];
    match data {
        Some(d) => dst.copy_from_slice(&d[(a - start) as usize..(z - start) as usize]),
        None => dst.fill(0),
    }
}

impl Cache {
    pub(crate) fn read_file<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, Error<B::Error>> {
        let id = self.state_for(b, f)?;
        let size = self.files.get(id).size;
        if offset >= size {
            return Ok(0);
        }
        let end = offset.saturating_add(buf.len() as u64).min(size);
        let span = ReadSpan {
            offset,
            end,
            first: offset / PAGE_U64,
            last: end.div_ceil(PAGE_U64),
            eof: size.div_ceil(PAGE_U64),
        };
        let cap = self.slots.capacity();
        let max_window = self
            .config
            .readahead_pages
            .min(u32::try_from(cap / 2).unwrap_or(u32::MAX));
        let slots = &self.slots;
        let fetch_end =
            self.files
                .get_mut(id)
                .ra
                .plan(span, max_window, self.config.readahead_initial, |p| {
                    slots.lookup(id, p).is_some()
                });
        let max_run = self.io_pages(b).min(cap.max(1)) as u64;
        let mut p = span.first;
        while p < fetch_end {
            if let Some(s) = self.slots.lookup(id, p) {
                if p < span.last {
                    copy_out(Some(&self.arena[s as usize]), p, offset, end, buf);
                    self.slots.touch(s);
                    self.stats.hits += 1;
                }
                p += 1;
                continue;
            }
            let disk = self.files.get(id).disk_size;
            if p * PAGE_U64 >= disk {
                // Past the backend's end: a gap left by a write past EOF or a truncate.
                if p < span.last {
                    copy_out(None, p, offset, end, buf);
                    self.stats.hits += 1;
                }
                p += 1;
                continue;
            }
            let mut q = p + 1;
            while q < fetch_end
                && q - p < max_run
                && q * PAGE_U64 < disk
                && self.slots.lookup(id, q).is_none()
            {
                q += 1;
            }
            match self.fetch_run(b, id, p, q, span, buf) {
                Ok(()) => {}
                // Readahead alone is a hint: its failure does not fail the read.
                Err(_) if p >= span.last => break,
                Err(e) => return Err(e),
            }
            p = q;
        }
        Ok((end - offset) as usize)
    }

    /// Reads the missing pages `p..q` of file `id` (all below its backend size) with one
    /// backend request, caches them as clean pages and copies the requested part into `buf`.
    fn fetch_run<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
        p: u64,
        q: u64,
        span: ReadSpan,
        buf: &mut [u8],
    ) -> Result<(), Error<B::Error>> {
        let n = (q - p) as usize;
        let mut held = core::mem::take(&mut self.held);
        held.clear();
        for _ in 0..n {
            match self.alloc(b) {
                Ok(s) => held.push(s),
                Err(e) => {
                    self.release_held(held);
                    return Err(e);
                }
            }
        }
        // Evictions above may have written back pages of this file: read the size after them.
        let start = p * PAGE_U64;
        let want = (n as u64 * PAGE_U64).min(self.files.get(id).disk_size.saturating_sub(start));
        let want = want as usize;
        self.ensure_scratch(n);
        self.stats.read_requests += 1;
        let key = self.files.key(id);
        let got = match b.read(key, start, &mut self.scratch[..want]) {
            Ok(got) => got.min(want),
            Err(e) => {
                self.release_held(held);
                return Err(Error::Backend(e));
            }
        };
        self.scratch[got..n * PAGE].fill(0);
        for (i, &s) in held.iter().enumerate() {
            let page = p + i as u64;
            let frame = &mut self.arena[s as usize];
            frame.copy_from_slice(&self.scratch[i * PAGE..(i + 1) * PAGE]);
            if page < span.last {
                copy_out(Some(frame), page, span.offset, span.end, buf);
                self.stats.misses += 1;
            } else {
                self.stats.readahead_pages += 1;
            }
            self.slots
                .install(s, id, page, State::Clean, &mut self.files.get_mut(id).head);
            self.add_page(id);
        }
        held.clear();
        self.held = held;
        Ok(())
    }

    /// Returns slots held by a failed operation to the free list.
    fn release_held(&mut self, mut held: alloc::vec::Vec<u32>) {
        for &s in &held {
            self.slots.release(s);
        }
        held.clear();
        self.held = held;
    }
}
