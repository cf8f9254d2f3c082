//! The guest's devices: the paravirtual console, the report mailbox, and MMIO devices on the
//! bus (virtio-mmio transports).

pub mod blk;
pub mod console;
pub mod mailbox;
pub mod polled_io;
pub mod rdma;
pub mod virtio_mmio;

/// A device on the MMIO bus.
pub trait BusDevice: Send {
    /// A read at `offset` from the device's base.
    fn read(&mut self, offset: u64, data: &mut [u8]);
    /// A write at `offset` from the device's base.
    fn write(&mut self, offset: u64, data: &[u8]);
}

impl<D: virtio_mmio::VirtioDevice> BusDevice for virtio_mmio::MmioTransport<D> {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        virtio_mmio::MmioTransport::read(self, offset, data);
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        virtio_mmio::MmioTransport::write(self, offset, data);
    }
}

/// A device on the bus: base, length, the device.
type Slot = (u64, u64, std::sync::Mutex<Box<dyn BusDevice>>);

/// MMIO devices by address range.
#[derive(Default)]
pub struct Bus {
    devices: Vec<Slot>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.devices.iter().map(|(b, l, _)| (b, l)))
            .finish()
    }
}

impl Bus {
    /// Adds a device at `[base, base + len)`.
    pub fn insert(&mut self, base: u64, len: u64, dev: Box<dyn BusDevice>) {
        self.devices.push((base, len, std::sync::Mutex::new(dev)));
    }

    fn find(&self, addr: u64) -> Option<(u64, &std::sync::Mutex<Box<dyn BusDevice>>)> {
        self.devices
            .iter()
            .find(|(b, l, _)| addr >= *b && addr - *b < *l)
            .map(|(b, _, d)| (addr - b, d))
    }

    /// Routes a read; returns false if nothing is there.
    pub fn read(&self, addr: u64, data: &mut [u8]) -> bool {
        match self.find(addr) {
            Some((off, d)) => {
                if let Ok(mut d) = d.lock() {
                    d.read(off, data);
                }
                true
            }
            None => false,
        }
    }

    /// Routes a write; returns false if nothing is there.
    pub fn write(&self, addr: u64, data: &[u8]) -> bool {
        match self.find(addr) {
            Some((off, d)) => {
                if let Ok(mut d) = d.lock() {
                    d.write(off, data);
                }
                true
            }
            None => false,
        }
    }
}
