//! The virtio-mmio transport, driver side. Each register access is an exit to the VMM: this is
//! for setup and notifications only.

use lego_abi::virtio_mmio::{F_VERSION_1, MAGIC, VERSION, reg, status};

use super::VirtioError;

/// A virtio-mmio device's registers.
#[derive(Debug)]
pub struct MmioDevice {
    base: *mut u8,
}

// SAFETY: the registers are device MMIO; users serialise access with a lock.
unsafe impl Send for MmioDevice {}

impl MmioDevice {
    fn read32(&self, off: u64) -> u32 {
        // SAFETY: `base` maps a virtio-mmio register page (checked by `probe`); `off` is a
        // 4-aligned register offset inside it.
        unsafe { self.base.add(off as usize).cast::<u32>().read_volatile() }
    }

    fn write32(&self, off: u64, v: u32) {
        // SAFETY: as in `read32`.
        unsafe { self.base.add(off as usize).cast::<u32>().write_volatile(v) }
    }

    /// Checks the registers at `base` are a virtio-mmio v2 device with `device_id`.
    ///
    /// # Safety
    /// `base` must map `lego_abi::virtio_mmio::MMIO_SIZE` bytes of device registers.
    pub unsafe fn probe(base: *mut u8, device_id: u32) -> Result<MmioDevice, VirtioError> {
        let d = MmioDevice { base };
        if d.read32(reg::MAGIC_VALUE) != MAGIC || d.read32(reg::VERSION) != VERSION {
            return Err(VirtioError::NotVirtio);
        }
        let id = d.read32(reg::DEVICE_ID);
        if id != device_id {
            return Err(VirtioError::WrongDevice(id));
        }
        Ok(d)
    }

    /// Resets the device and negotiates `wanted` features (VERSION_1 is always required).
    pub fn negotiate(&mut self, wanted: u64) -> Result<u64, VirtioError> {
        self.write32(reg::STATUS, 0);
        self.write32(reg::STATUS, status::ACKNOWLEDGE);
        self.write32(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        self.write32(reg::DEVICE_FEATURES_SEL, 0);
        let lo = u64::from(self.read32(reg::DEVICE_FEATURES));
        self.write32(reg::DEVICE_FEATURES_SEL, 1);
        let hi = u64::from(self.read32(reg::DEVICE_FEATURES));
        let offered = lo | (hi << 32);
        let take = offered & (wanted | F_VERSION_1);
        if take & F_VERSION_1 == 0 {
            return Err(VirtioError::FeaturesRejected);
        }
        self.write32(reg::DRIVER_FEATURES_SEL, 0);
        self.write32(reg::DRIVER_FEATURES, take as u32);
        self.write32(reg::DRIVER_FEATURES_SEL, 1);
        self.write32(reg::DRIVER_FEATURES, (take >> 32) as u32);
        let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
        self.write32(reg::STATUS, s);
        if self.read32(reg::STATUS) & status::FEATURES_OK == 0 {
            return Err(VirtioError::FeaturesRejected);
        }
        Ok(take)
    }

    /// The largest size of queue `index` (0: no such queue).
    pub fn queue_max(&mut self, index: u16) -> u16 {
        self.write32(reg::QUEUE_SEL, u32::from(index));
        self.read32(reg::QUEUE_NUM_MAX) as u16
    }

    /// Configures queue `index` with `size` entries at the given guest-physical addresses.
    pub fn setup_queue(&mut self, index: u16, size: u16, desc: u64, avail: u64, used: u64) {
        self.write32(reg::QUEUE_SEL, u32::from(index));
        self.write32(reg::QUEUE_NUM, u32::from(size));
        self.write32(reg::QUEUE_DESC_LOW, desc as u32);
        self.write32(reg::QUEUE_DESC_HIGH, (desc >> 32) as u32);
        self.write32(reg::QUEUE_DRIVER_LOW, avail as u32);
        self.write32(reg::QUEUE_DRIVER_HIGH, (avail >> 32) as u32);
        self.write32(reg::QUEUE_DEVICE_LOW, used as u32);
        self.write32(reg::QUEUE_DEVICE_HIGH, (used >> 32) as u32);
        self.write32(reg::QUEUE_READY, 1);
    }

    /// Tells the device the driver is ready.
    pub fn driver_ok(&mut self) -> Result<(), VirtioError> {
        let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK;
        self.write32(reg::STATUS, s);
        if self.read32(reg::STATUS) & status::DRIVER_OK == 0 {
            return Err(VirtioError::BadQueue);
        }
        Ok(())
    }

    /// Notifies queue `index`.
    pub fn notify(&self, index: u16) {
        self.write32(reg::QUEUE_NOTIFY, u32::from(index));
    }

    /// Reads `out.len()` bytes of configuration space from `offset`, 4 bytes per exit.
    pub fn read_config(&self, offset: u64, out: &mut [u8]) {
        for (i, chunk) in out.chunks_mut(4).enumerate() {
            let v = self
                .read32(reg::CONFIG + offset + 4 * i as u64)
                .to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}
