//! Pipes: a 64 KiB buffer shared by a read end and a write end, each counted (a read of an
//! empty pipe whose writers are gone is end of file; a write with no reader is `EPIPE` and
//! `SIGPIPE`). An end is counted while any open description holds it: cloning one (a
//! snapshot of a description) counts it once more, dropping it once less.

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use spin::Mutex;

/// Linux's default pipe capacity (`F_GETPIPE_SZ`).
pub const CAPACITY: usize = 64 * 1024;

#[derive(Debug, Default)]
struct Inner {
    data: VecDeque<u8>,
    readers: u32,
    writers: u32,
}

/// One end of a pipe.
#[derive(Debug)]
pub struct PipeEnd {
    pipe: Arc<Mutex<Inner>>,
    /// The write end (else the read end).
    pub write: bool,
}

impl PipeEnd {
    /// A new pipe's (read, write) ends.
    pub fn pair() -> (PipeEnd, PipeEnd) {
        let pipe = Arc::new(Mutex::new(Inner {
            data: VecDeque::new(),
            readers: 1,
            writers: 1,
        }));
        (
            PipeEnd {
                pipe: pipe.clone(),
                write: false,
            },
            PipeEnd { pipe, write: true },
        )
    }

    /// Bytes waiting to be read.
    pub fn available(&self) -> usize {
        self.pipe.lock().data.len()
    }

    /// Room for bytes to be written.
    pub fn room(&self) -> usize {
        CAPACITY - self.pipe.lock().data.len().min(CAPACITY)
    }

    /// Whether a write end is still open somewhere.
    pub fn has_writers(&self) -> bool {
        self.pipe.lock().writers > 0
    }

    /// Whether a read end is still open somewhere.
    pub fn has_readers(&self) -> bool {
        self.pipe.lock().readers > 0
    }

    /// Takes up to `out.len()` bytes; how many.
    pub fn read(&self, out: &mut [u8]) -> usize {
        let mut p = self.pipe.lock();
        let n = out.len().min(p.data.len());
        for (o, b) in out.iter_mut().zip(p.data.drain(..n)) {
            *o = b;
        }
        n
    }

    /// Puts back bytes `read` took that could not be given to the program (a bad buffer).
    pub fn unread(&self, data: &[u8]) {
        let mut p = self.pipe.lock();
        for &b in data.iter().rev() {
            p.data.push_front(b);
        }
    }

    /// Appends as much of `data` as fits; how much.
    pub fn write(&self, data: &[u8]) -> usize {
        let mut p = self.pipe.lock();
        let n = data.len().min(CAPACITY - p.data.len().min(CAPACITY));
        p.data.extend(&data[..n]);
        n
    }
}

impl Clone for PipeEnd {
    fn clone(&self) -> Self {
        let mut p = self.pipe.lock();
        if self.write {
            p.writers += 1;
        } else {
            p.readers += 1;
        }
        PipeEnd {
            pipe: self.pipe.clone(),
            write: self.write,
        }
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut p = self.pipe.lock();
        if self.write {
            p.writers = p.writers.saturating_sub(1);
        } else {
            p.readers = p.readers.saturating_sub(1);
        }
    }
}

impl PartialEq for PipeEnd {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.pipe, &other.pipe) && self.write == other.write
    }
}

impl Eq for PipeEnd {}
