//! The console: bytes go into the ring the VMM set up (lego_abi::console), and one doorbell per
//! line (or when the ring is full) tells the VMM to drain it. A port write per byte, as with a
//! UART, would cost an exit per byte (~42 us on PVM with a VIF).

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, Ordering};

use lego_abi::console::{DATA_OFFSET, RingHeader, free};
use lego_abi::ports;

use crate::arch;
use crate::sync::IrqMutex;

struct Ring {
    base: *mut u8,
    size: u32,
}

// SAFETY: the ring memory is only written under the console lock.
unsafe impl Send for Ring {}

static CONSOLE: IrqMutex<Option<Ring>> = IrqMutex::new(None);

/// Sets up the ring at virtual address `base` with `len` bytes (header included).
pub fn init(base: u64, len: u64) {
    let data = len.saturating_sub(DATA_OFFSET);
    // Largest power of two that fits.
    let size = if data == 0 {
        0
    } else {
        1u64 << (63 - data.leading_zeros())
    };
    let size = size.min(u64::from(u32::MAX >> 1)) as u32;
    if size == 0 {
        return;
    }
    let hdr = base as *mut RingHeader;
    // SAFETY: the VMM reserved [base, base + len) for the console; nobody else writes it.
    unsafe {
        (*hdr).head = 0;
        (*hdr).tail = 0;
        (*hdr).size = size;
    }
    *CONSOLE.lock() = Some(Ring {
        base: base as *mut u8,
        size,
    });
}

impl Ring {
    fn head(&self) -> &AtomicU32 {
        // SAFETY: the header is at `base`, 4-byte aligned, valid for the guest's lifetime.
        unsafe { AtomicU32::from_ptr(self.base.cast::<u32>()) }
    }

    fn tail(&self) -> &AtomicU32 {
        // SAFETY: as above; `tail` follows `head`.
        unsafe { AtomicU32::from_ptr(self.base.add(4).cast::<u32>()) }
    }

    fn put(&mut self, b: u8) {
        let mut head = self.head().load(Ordering::Relaxed);
        if free(head, self.tail().load(Ordering::Acquire), self.size) == 0 {
            // Full: the VMM drains synchronously during the exit.
            self.doorbell();
            head = self.head().load(Ordering::Relaxed);
            if free(head, self.tail().load(Ordering::Acquire), self.size) == 0 {
                return; // VMM not draining; drop rather than hang.
            }
        }
        let at = (head & (self.size - 1)) as usize;
        // SAFETY: `at < size` and the data area follows the header.
        unsafe { self.base.add(DATA_OFFSET as usize + at).write_volatile(b) };
        self.head().store(head.wrapping_add(1), Ordering::Release);
    }

    fn doorbell(&self) {
        arch::outl(ports::CONSOLE_DOORBELL, 0);
    }
}

struct Writer<'a>(&'a mut Ring);

impl Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            self.0.put(b);
            if b == b'\n' {
                self.0.doorbell();
            }
        }
        Ok(())
    }
}

/// Writes formatted text. Before the ring exists, falls back to the legacy serial port.
pub fn write_fmt(args: fmt::Arguments<'_>) {
    let mut g = CONSOLE.lock();
    match g.as_mut() {
        Some(ring) => {
            let _ = Writer(ring).write_fmt(args);
        }
        None => {
            let _ = SerialWriter.write_fmt(args);
        }
    }
}

/// Writes even if another CPU holds the console lock (it may have died holding it): for fault
/// reports only. Output from the two writers may interleave.
pub fn write_fmt_emergency(args: fmt::Arguments<'_>) {
    if let Some(mut g) = CONSOLE.try_lock()
        && let Some(ring) = g.as_mut()
    {
        let _ = Writer(ring).write_fmt(args);
        return;
    }
    let _ = SerialWriter.write_fmt(args);
}

struct SerialWriter;

impl Write for SerialWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            arch::outb(ports::SERIAL_COM1, b);
        }
        Ok(())
    }
}

/// Prints to the component's console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::write_fmt(format_args!($($arg)*)) };
}

/// Prints a line to the component's console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::console::write_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}
