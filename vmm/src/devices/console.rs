//! The console device: drains the guest's console ring (lego_abi::console) when the guest rings
//! the doorbell, splits lines, and writes them with the component's prefix.

use std::io::Write;
use std::sync::atomic::Ordering;

use lego_abi::console::{DATA_OFFSET, HEAD_OFFSET, TAIL_OFFSET, pending};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

/// Longest line kept; longer ones are split.
const MAX_LINE: usize = 4096;

/// The console of one guest.
pub struct Console {
    mem: GuestMemoryMmap,
    ring: u64,
    size: u32,
    prefix: String,
    line: Vec<u8>,
    sink: Box<dyn Write + Send>,
    /// Every line written, kept when `keep` is set (for reporting after a failure).
    kept: Vec<String>,
    keep: usize,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("ring", &self.ring)
            .field("size", &self.size)
            .finish()
    }
}

/// The data size the guest will use for a ring of `len` bytes: the largest power of two that
/// fits after the header (the guest computes the same; the VMM never trusts the header's copy).
pub fn data_size(len: u64) -> u32 {
    let data = len.saturating_sub(DATA_OFFSET);
    if data == 0 {
        return 0;
    }
    (1u64 << (63 - data.leading_zeros())).min(u64::from(u32::MAX >> 1)) as u32
}

impl Console {
    /// A console over the ring at `ring` (`len` bytes), writing to `sink`, keeping the last
    /// `keep` lines.
    pub fn new(
        mem: GuestMemoryMmap,
        ring: u64,
        len: u64,
        prefix: String,
        sink: Box<dyn Write + Send>,
        keep: usize,
    ) -> Console {
        Console {
            mem,
            ring,
            size: data_size(len),
            prefix,
            line: Vec::new(),
            sink,
            kept: Vec::new(),
            keep,
        }
    }

    /// Takes everything the guest wrote since the last drain.
    pub fn drain(&mut self) {
        if self.size == 0 {
            return;
        }
        let head_addr = GuestAddress(self.ring + HEAD_OFFSET);
        let tail_addr = GuestAddress(self.ring + TAIL_OFFSET);
        let (Ok(head), Ok(tail)) = (
            self.mem.load::<u32>(head_addr, Ordering::Acquire),
            self.mem.load::<u32>(tail_addr, Ordering::Acquire),
        ) else {
            return;
        };
        let Some(n) = pending(head, tail, self.size) else {
            // Inconsistent counters (a confused guest): resynchronise, lose nothing of ours.
            let _ = self.mem.store(head, tail_addr, Ordering::Release);
            self.push_bytes(b"<console ring reset>\n");
            return;
        };
        let mut buf = vec![0u8; n as usize];
        let mut at = tail;
        let mut off = 0usize;
        while off < buf.len() {
            let idx = at & (self.size - 1);
            let chunk = ((self.size - idx) as usize).min(buf.len() - off);
            let src = GuestAddress(self.ring + DATA_OFFSET + u64::from(idx));
            if self
                .mem
                .read_slice(&mut buf[off..off + chunk], src)
                .is_err()
            {
                break;
            }
            off += chunk;
            at = at.wrapping_add(chunk as u32);
        }
        let _ = self.mem.store(head, tail_addr, Ordering::Release);
        self.push_bytes(&buf[..off]);
    }

    /// Adds a byte written to the legacy serial port.
    pub fn push_serial(&mut self, b: u8) {
        self.push_bytes(&[b]);
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' || self.line.len() >= MAX_LINE {
                self.emit_line();
                if b == b'\n' {
                    continue;
                }
            }
            if b != b'\r' {
                self.line.push(b);
            }
        }
    }

    fn emit_line(&mut self) {
        let text = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        let _ = writeln!(self.sink, "{}{}", self.prefix, text);
        let _ = self.sink.flush();
        if self.keep > 0 {
            if self.kept.len() == self.keep {
                self.kept.remove(0);
            }
            self.kept.push(text);
        }
    }

    /// Writes out a partial last line (at shutdown).
    pub fn finish(&mut self) {
        self.drain();
        if !self.line.is_empty() {
            self.emit_line();
        }
    }

    /// The last lines kept.
    pub fn kept(&self) -> &[String] {
        &self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn guest_write(mem: &GuestMemoryMmap, ring: u64, size: u32, text: &[u8]) {
        let head: u32 = mem.load(GuestAddress(ring), Ordering::Relaxed).unwrap();
        for (i, &b) in text.iter().enumerate() {
            let idx = head.wrapping_add(i as u32) & (size - 1);
            mem.write_obj(b, GuestAddress(ring + DATA_OFFSET + u64::from(idx)))
                .unwrap();
        }
        mem.store(
            head.wrapping_add(text.len() as u32),
            GuestAddress(ring),
            Ordering::Release,
        )
        .unwrap();
    }

    #[test]
    fn lines_come_out_prefixed_across_wraparound() {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x10000)]).unwrap();
        let out = Shared::default();
        let len = DATA_OFFSET + 16;
        let mut c = Console::new(
            mem.clone(),
            0x1000,
            len,
            "[p0] ".into(),
            Box::new(out.clone()),
            8,
        );
        assert_eq!(c.size, 16);
        guest_write(&mem, 0x1000, 16, b"hello\nwor");
        c.drain();
        guest_write(&mem, 0x1000, 16, b"ld\nabcdefgh\n");
        c.drain();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "[p0] hello\n[p0] world\n[p0] abcdefgh\n");
        assert_eq!(c.kept(), &["hello", "world", "abcdefgh"]);
    }

    #[test]
    fn hostile_counters_are_survived() {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x10000)]).unwrap();
        let out = Shared::default();
        let mut c = Console::new(
            mem.clone(),
            0x1000,
            DATA_OFFSET + 16,
            String::new(),
            Box::new(out.clone()),
            0,
        );
        mem.store(1000u32, GuestAddress(0x1000), Ordering::Release)
            .unwrap();
        c.drain();
        let tail: u32 = mem
            .load(GuestAddress(0x1000 + TAIL_OFFSET), Ordering::Acquire)
            .unwrap();
        assert_eq!(tail, 1000);
        c.finish();
        assert!(
            String::from_utf8(out.0.lock().unwrap().clone())
                .unwrap()
                .contains("reset")
        );
    }

    #[test]
    fn ring_outside_memory_is_harmless() {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x1000)]).unwrap();
        let mut c = Console::new(
            mem,
            0x10_0000,
            4096,
            String::new(),
            Box::new(std::io::sink()),
            0,
        );
        c.drain();
        c.finish();
    }
}
