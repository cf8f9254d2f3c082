//! The control channel: one command at a time on the control queue.

use lego_abi::virtio_mmio::MMIO_SIZE;
use virtio_rdma::abi::control::{Command, CtrlStatus, MESSAGE_BYTES, RawResponse};
use virtio_rdma::abi::{CONTROL_QUEUE, CONTROL_QUEUE_SIZE, DEVICE_ID, DeviceConfig};
use zerocopy::{FromBytes, IntoBytes};

use crate::mm::{alloc_zeroed, map_io, phys_to_virt};
use crate::virtio::mmio::MmioDevice;
use crate::virtio::queue::SplitQueue;
use lego_rpc::FabricError;

/// The device's control channel.
#[derive(Debug)]
pub struct Control {
    dev: MmioDevice,
    queue: SplitQueue,
    buf_pa: u64,
}

/// Control commands are served by the VMM during the notifying exit; this only guards against a
/// VMM that never answers.
const CONTROL_TIMEOUT_NS: u64 = 5_000_000_000;

impl Control {
    /// Brings the device up; returns the channel and the device configuration.
    pub fn open(mmio_gpa: u64) -> Result<(Control, DeviceConfig), FabricError> {
        let base = map_io(mmio_gpa, MMIO_SIZE, true)?;
        // SAFETY: `base` now maps the device's register page.
        let mut dev = unsafe { MmioDevice::probe(base, DEVICE_ID) }?;
        dev.negotiate(0)?;
        let mut cfg_bytes = [0u8; core::mem::size_of::<DeviceConfig>()];
        dev.read_config(0, &mut cfg_bytes);
        let config =
            DeviceConfig::read_from_bytes(&cfg_bytes).map_err(|_| FabricError::NoDevice)?;
        let queue = SplitQueue::new(&mut dev, CONTROL_QUEUE, CONTROL_QUEUE_SIZE)?;
        dev.driver_ok()?;
        let buf_pa = alloc_zeroed(1).ok_or(FabricError::NoMemory)?;
        Ok((Control { dev, queue, buf_pa }, config))
    }

    /// Runs one command; returns the response values.
    pub fn run(&mut self, cmd: Command) -> Result<[u64; 7], FabricError> {
        let raw = cmd.encode();
        let buf = phys_to_virt(self.buf_pa);
        // SAFETY: the page at `buf_pa` is ours; command at 0, response at 64.
        unsafe { core::ptr::copy_nonoverlapping(raw.as_bytes().as_ptr(), buf, MESSAGE_BYTES) };
        let out = [(self.buf_pa, MESSAGE_BYTES as u32)];
        let inn = [(self.buf_pa + MESSAGE_BYTES as u64, MESSAGE_BYTES as u32)];
        let n = self
            .queue
            .submit(&self.dev, &out, &inn, CONTROL_TIMEOUT_NS)?;
        if n as usize != MESSAGE_BYTES {
            return Err(FabricError::Env("short control response"));
        }
        // SAFETY: as above; the device wrote the response bytes.
        let bytes = unsafe { core::slice::from_raw_parts(buf.add(MESSAGE_BYTES), MESSAGE_BYTES) };
        let resp = RawResponse::read_from_bytes(bytes).map_err(|_| FabricError::NoDevice)?;
        match resp.status() {
            CtrlStatus::Ok => Ok(resp.vals),
            s => Err(FabricError::Control(s)),
        }
    }
}
