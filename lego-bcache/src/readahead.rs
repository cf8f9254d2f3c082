//! Readahead: per-file detection of sequential reads and the size of the window to fetch.
//!
//! A read is sequential when it starts where the previous read of the file ended (a new file
//! state starts at offset 0, so reading a file from its start counts). A sequential read
//! triggers a readahead when one of its pages, or of the first half-window after it, is not
//! cached; the window then starts at `initial` pages and doubles at each readahead up to
//! `max`, and the pages missing up to one window past the read are fetched together with the
//! read's own missing pages. Triggering at the half window keeps a stream fetching about half
//! a window per request instead of a page per read. A non-sequential read resets the window
//! and fetches only what it asks for. Readahead never goes past the end of file.

/// Readahead state of one file.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Readahead {
    /// Where a sequential read would start.
    next: u64,
    /// Current window in pages (0: none yet).
    window: u32,
}

/// One read's extent, in bytes and pages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadSpan {
    /// Byte offset of the read.
    pub(crate) offset: u64,
    /// Byte end of the read (within the file).
    pub(crate) end: u64,
    /// First page of the read.
    pub(crate) first: u64,
    /// One past its last page.
    pub(crate) last: u64,
    /// Pages in the file.
    pub(crate) eof: u64,
}

impl Readahead {
    /// Records a read and returns the page (≥ `r.last`, ≤ `r.eof`) up to which missing pages
    /// should be fetched. `cached(p)` tells whether page `p` is cached; `max` and `initial`
    /// are windows in pages.
    pub(crate) fn plan(
        &mut self,
        r: ReadSpan,
        max: u32,
        initial: u32,
        cached: impl Fn(u64) -> bool,
    ) -> u64 {
        let sequential = r.offset == self.next;
        self.next = r.end;
        if !sequential || max == 0 {
            self.window = 0;
            return r.last;
        }
        let probe = r
            .last
            .saturating_add(u64::from(self.window / 2))
            .min(r.eof)
            .max(r.last);
        if (r.first..probe).all(cached) {
            return r.last;
        }
        let grown = if self.window == 0 {
            initial
        } else {
            self.window.saturating_mul(2)
        };
        self.window = grown.clamp(1, max);
        r.last
            .saturating_add(u64::from(self.window))
            .min(r.eof)
            .max(r.last)
    }

    /// Forgets the stream (after the file's contents changed under it).
    pub(crate) fn reset(&mut self) {
        *self = Readahead::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(first: u64, pages: u64, eof: u64) -> ReadSpan {
        ReadSpan {
            offset: first * 4096,
            end: (first + pages) * 4096,
            first,
            last: first + pages,
            eof,
        }
    }

    #[test]
    fn window_doubles_and_is_capped() {
        let mut ra = Readahead::default();
        let mut cached_to = 0u64;
        let mut windows = Vec::new();
        for p in 0..100 {
            let end = ra.plan(span(p, 1, 1000), 32, 4, |q| q < cached_to);
            if end > p + 1 || cached_to <= p {
                windows.push(end - (p + 1));
                cached_to = cached_to.max(end);
            }
        }
        assert_eq!(&windows[..5], &[4, 8, 16, 32, 32]);
    }

    #[test]
    fn random_reads_fetch_only_their_pages() {
        let mut ra = Readahead::default();
        assert_eq!(ra.plan(span(10, 2, 100), 32, 4, |_| false), 12);
        assert_eq!(ra.plan(span(50, 1, 100), 32, 4, |_| false), 51);
        // Sequential after the random one: starts readahead.
        assert_eq!(ra.plan(span(51, 1, 100), 32, 4, |_| false), 56);
    }

    #[test]
    fn never_past_eof() {
        let mut ra = Readahead::default();
        assert_eq!(ra.plan(span(0, 1, 3), 32, 16, |_| false), 3);
        assert_eq!(ra.plan(span(0, 1, 1), 32, 16, |_| false), 1);
    }
}
