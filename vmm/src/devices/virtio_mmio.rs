//! The virtio-mmio transport (version 2): the register file as one `match`, the device-status
//! state machine, queue configuration. Device behaviour is behind [`VirtioDevice`]. Queue
//! notifications are handled synchronously on the notifying vCPU's exit: our devices are
//! control paths (the fabric's data path never comes here).

use lego_abi::virtio_mmio::{F_VERSION_1, MAGIC, VERSION, reg, status};
use virtio_queue::{Queue, QueueT};
use vm_memory::GuestMemoryMmap;

/// A virtio device behind the transport.
pub trait VirtioDevice: Send {
    /// The virtio device id.
    fn device_id(&self) -> u32;
    /// The vendor id.
    fn vendor_id(&self) -> u32;
    /// Features offered (must include `F_VERSION_1`).
    fn device_features(&self) -> u64;
    /// Maximum size of each queue.
    fn queue_max_sizes(&self) -> &[u16];
    /// Reads the configuration space.
    fn read_config(&self, offset: u64, data: &mut [u8]);
    /// Queue `index` has new buffers; process them and put them in the used ring.
    fn process_queue(&mut self, mem: &GuestMemoryMmap, index: u16, queue: &mut Queue);
    /// The driver reset the device.
    fn reset(&mut self) {}
}

/// The transport state of one device.
pub struct MmioTransport<D: VirtioDevice> {
    device: D,
    mem: GuestMemoryMmap,
    status: u32,
    features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    queues: Vec<Queue>,
    interrupt_status: u32,
    config_generation: u32,
}

impl<D: VirtioDevice> std::fmt::Debug for MmioTransport<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmioTransport")
            .field("device_id", &self.device.device_id())
            .field("status", &self.status)
            .finish()
    }
}

fn read_u32(data: &[u8]) -> Option<u32> {
    data.try_into().ok().map(u32::from_le_bytes)
}

impl<D: VirtioDevice> MmioTransport<D> {
    /// A transport for `device` over guest memory `mem`.
    pub fn new(device: D, mem: GuestMemoryMmap) -> MmioTransport<D> {
        let queues = device
            .queue_max_sizes()
            .iter()
            .filter_map(|&max| Queue::new(max).ok())
            .collect();
        MmioTransport {
            device,
            mem,
            status: 0,
            features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            queues,
            interrupt_status: 0,
            config_generation: 0,
        }
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device status register.
    pub fn status(&self) -> u32 {
        self.status
    }

    fn queue(&mut self) -> Option<&mut Queue> {
        self.queues.get_mut(self.queue_sel as usize)
    }

    /// Queue registers may be written only between FEATURES_OK and DRIVER_OK.
    fn queue_config_allowed(&self) -> bool {
        self.status & status::FEATURES_OK != 0
            && self.status & (status::DRIVER_OK | status::FAILED) == 0
    }

    fn reset(&mut self) {
        self.status = 0;
        self.features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        self.interrupt_status = 0;
        for q in &mut self.queues {
            q.reset();
        }
        self.device.reset();
    }

    fn set_status(&mut self, v: u32) {
        if v == 0 {
            self.reset();
            return;
        }
        if v & status::FAILED != 0 {
            self.status |= status::FAILED;
            return;
        }
        // Each step may only add the next bit of the sequence.
        let allowed = match self.status {
            0 => v == status::ACKNOWLEDGE,
            s if s == status::ACKNOWLEDGE => v == s | status::DRIVER,
            s if s == status::ACKNOWLEDGE | status::DRIVER => {
                v == s | status::FEATURES_OK && self.driver_features & F_VERSION_1 != 0
            }
            s if s == status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK => {
                v == s | status::DRIVER_OK
                    && self
                        .queues
                        .iter()
                        .all(|q| !q.ready() || q.is_valid(&self.mem))
            }
            _ => false,
        };
        if allowed {
            self.status = v;
        } else {
            tracing::debug!(
                from = self.status,
                to = v,
                "invalid virtio status transition ignored"
            );
        }
    }

    /// A read of `data.len()` bytes at `offset` from the device's base.
    pub fn read(&mut self, offset: u64, data: &mut [u8]) {
        if offset >= reg::CONFIG {
            self.device.read_config(offset - reg::CONFIG, data);
            return;
        }
        if data.len() != 4 {
            data.fill(0);
            return;
        }
        let features_word = |f: u64, sel: u32| match sel {
            0 => f as u32,
            1 => (f >> 32) as u32,
            _ => 0,
        };
        let v: u32 = match offset {
            reg::MAGIC_VALUE => MAGIC,
            reg::VERSION => VERSION,
            reg::DEVICE_ID => self.device.device_id(),
            reg::VENDOR_ID => self.device.vendor_id(),
            reg::DEVICE_FEATURES => features_word(self.device.device_features(), self.features_sel),
            reg::QUEUE_NUM_MAX => self.queue().map_or(0, |q| u32::from(q.max_size())),
            reg::QUEUE_READY => self.queue().map_or(0, |q| u32::from(q.ready())),
            reg::INTERRUPT_STATUS => self.interrupt_status,
            reg::STATUS => self.status,
            reg::CONFIG_GENERATION => self.config_generation,
            _ => 0,
        };
        data.copy_from_slice(&v.to_le_bytes());
    }

    /// A write of `data` at `offset` from the device's base.
    pub fn write(&mut self, offset: u64, data: &[u8]) {
        if offset >= reg::CONFIG {
            // Our devices' configuration is read-only.
            return;
        }
        let Some(v) = read_u32(data) else { return };
        let cfg_ok = self.queue_config_allowed();
        match offset {
            reg::DEVICE_FEATURES_SEL => self.features_sel = v,
            reg::DRIVER_FEATURES_SEL => self.driver_features_sel = v,
            reg::DRIVER_FEATURES => {
                if self.status & (status::FEATURES_OK | status::FAILED) == 0
                    && self.status & status::DRIVER != 0
                {
                    let offered = self.device.device_features();
                    let (shift, mask) = match self.driver_features_sel {
                        0 => (0, 0xffff_ffffu64),
                        1 => (32, 0xffff_ffff_0000_0000),
                        _ => return,
                    };
                    let word = (u64::from(v) << shift) & offered & mask;
                    self.driver_features = (self.driver_features & !mask) | word;
                }
            }
            reg::QUEUE_SEL => self.queue_sel = v,
            reg::QUEUE_NUM if cfg_ok => {
                if let Some(q) = self.queue() {
                    q.set_size(v as u16);
                }
            }
            reg::QUEUE_READY if cfg_ok => {
                if let Some(q) = self.queue() {
                    q.set_ready(v == 1);
                }
            }
            reg::QUEUE_DESC_LOW if cfg_ok => {
                self.with_queue(|q| q.set_desc_table_address(Some(v), None))
            }
            reg::QUEUE_DESC_HIGH if cfg_ok => {
                self.with_queue(|q| q.set_desc_table_address(None, Some(v)))
            }
            reg::QUEUE_DRIVER_LOW if cfg_ok => {
                self.with_queue(|q| q.set_avail_ring_address(Some(v), None))
            }
            reg::QUEUE_DRIVER_HIGH if cfg_ok => {
                self.with_queue(|q| q.set_avail_ring_address(None, Some(v)))
            }
            reg::QUEUE_DEVICE_LOW if cfg_ok => {
                self.with_queue(|q| q.set_used_ring_address(Some(v), None))
            }
            reg::QUEUE_DEVICE_HIGH if cfg_ok => {
                self.with_queue(|q| q.set_used_ring_address(None, Some(v)))
            }
            reg::QUEUE_NOTIFY => self.notify(v),
            reg::INTERRUPT_ACK => self.interrupt_status &= !v,
            reg::STATUS => self.set_status(v),
            _ => tracing::debug!(
                offset,
                "write to a read-only or unknown virtio-mmio register ignored"
            ),
        }
    }

    fn with_queue(&mut self, f: impl FnOnce(&mut Queue)) {
        if let Some(q) = self.queue() {
            f(q);
        }
    }

    fn notify(&mut self, index: u32) {
        if self.status & status::DRIVER_OK == 0 || self.status & status::FAILED != 0 {
            return;
        }
        let Ok(index) = u16::try_from(index) else {
            return;
        };
        let Some(q) = self.queues.get_mut(usize::from(index)) else {
            return;
        };
        if !q.ready() || !q.is_valid(&self.mem) {
            return;
        }
        self.device.process_queue(&self.mem, index, q);
        self.interrupt_status |= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::GuestAddress;

    struct Dummy {
        processed: u32,
    }

    impl VirtioDevice for Dummy {
        fn device_id(&self) -> u32 {
            0x4c52
        }
        fn vendor_id(&self) -> u32 {
            7
        }
        fn device_features(&self) -> u64 {
            F_VERSION_1 | 1
        }
        fn queue_max_sizes(&self) -> &[u16] {
            &[16]
        }
        fn read_config(&self, offset: u64, data: &mut [u8]) {
            data.fill(offset as u8);
        }
        fn process_queue(&mut self, _mem: &GuestMemoryMmap, _index: u16, _queue: &mut Queue) {
            self.processed += 1;
        }
    }

    fn transport() -> MmioTransport<Dummy> {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x10_0000)]).unwrap();
        MmioTransport::new(Dummy { processed: 0 }, mem)
    }

    fn r(t: &mut MmioTransport<Dummy>, off: u64) -> u32 {
        let mut b = [0u8; 4];
        t.read(off, &mut b);
        u32::from_le_bytes(b)
    }

    fn w(t: &mut MmioTransport<Dummy>, off: u64, v: u32) {
        t.write(off, &v.to_le_bytes());
    }

    fn bring_up(t: &mut MmioTransport<Dummy>) {
        w(t, reg::STATUS, status::ACKNOWLEDGE);
        w(t, reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        w(t, reg::DRIVER_FEATURES_SEL, 1);
        w(t, reg::DRIVER_FEATURES, 1);
        w(
            t,
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
        );
        w(t, reg::QUEUE_SEL, 0);
        w(t, reg::QUEUE_NUM, 16);
        w(t, reg::QUEUE_DESC_LOW, 0x1000);
        w(t, reg::QUEUE_DRIVER_LOW, 0x2000);
        w(t, reg::QUEUE_DEVICE_LOW, 0x3000);
        w(t, reg::QUEUE_READY, 1);
        w(
            t,
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
        );
    }

    #[test]
    fn identification_registers() {
        let mut t = transport();
        assert_eq!(r(&mut t, reg::MAGIC_VALUE), MAGIC);
        assert_eq!(r(&mut t, reg::VERSION), 2);
        assert_eq!(r(&mut t, reg::DEVICE_ID), 0x4c52);
        w(&mut t, reg::DEVICE_FEATURES_SEL, 1);
        assert_eq!(r(&mut t, reg::DEVICE_FEATURES), 1);
        let mut cfg = [0u8; 4];
        t.read(reg::CONFIG + 3, &mut cfg);
        assert_eq!(cfg, [3; 4]);
    }

    #[test]
    fn full_bring_up_then_notify() {
        let mut t = transport();
        bring_up(&mut t);
        assert_eq!(t.status() & status::DRIVER_OK, status::DRIVER_OK);
        w(&mut t, reg::QUEUE_NOTIFY, 0);
        assert_eq!(t.device().processed, 1);
        w(&mut t, reg::QUEUE_NOTIFY, 5);
        assert_eq!(t.device().processed, 1, "no such queue");
        w(&mut t, reg::STATUS, 0);
        assert_eq!(t.status(), 0);
        w(&mut t, reg::QUEUE_NOTIFY, 0);
        assert_eq!(
            t.device().processed,
            1,
            "reset device ignores notifications"
        );
    }

    #[test]
    fn out_of_order_status_and_missing_version_1_are_refused() {
        let mut t = transport();
        w(&mut t, reg::STATUS, status::DRIVER_OK);
        assert_eq!(t.status(), 0);
        w(&mut t, reg::STATUS, status::ACKNOWLEDGE);
        w(&mut t, reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        // VERSION_1 not accepted: FEATURES_OK must not stick.
        w(
            &mut t,
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
        );
        assert_eq!(t.status() & status::FEATURES_OK, 0);
        // Queue configuration before FEATURES_OK is ignored.
        w(&mut t, reg::QUEUE_READY, 1);
        assert_eq!(r(&mut t, reg::QUEUE_READY), 0);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_register_traffic_never_panics(ops in proptest::collection::vec((0u64..0x120, proptest::num::u32::ANY, proptest::bool::ANY), 0..200)) {
            let mut t = transport();
            for (off, v, is_write) in ops {
                let off = off & !3;
                if is_write { w(&mut t, off, v) } else { let _ = r(&mut t, off); }
            }
        }
    }
}
