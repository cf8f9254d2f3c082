//! A `core::fmt::Write` into a fixed byte buffer that truncates instead of failing: fault
//! reports and panic messages must be formatted without a heap (the heap may be what broke).

use core::fmt;

/// Writes into `buf`, dropping what does not fit (cut on a UTF-8 boundary).
#[derive(Debug)]
pub struct FmtBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> FmtBuf<'a> {
    /// An empty writer over `buf`.
    pub fn new(buf: &'a mut [u8]) -> FmtBuf<'a> {
        FmtBuf { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for FmtBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let mut n = s.len().min(room);
        while n > 0 && !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn truncates_on_char_boundary() {
        let mut b = [0u8; 5];
        let mut w = FmtBuf::new(&mut b);
        write!(w, "ab{}", String::from("çdé")).unwrap();
        assert_eq!(w.as_str(), "abçd");
        write!(w, "more").unwrap();
        assert_eq!(w.len(), 5);
    }
}
