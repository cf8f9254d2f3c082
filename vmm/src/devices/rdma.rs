//! The virtio-rdma device: serves control commands from its queue against the fabric endpoint.
//! Each command is one chain: a device-readable 64-byte command, a device-writable 64-byte
//! response.

use std::sync::Arc;

use virtio_queue::{Queue, QueueT};
use virtio_rdma::abi::control::{Command, CtrlStatus, MESSAGE_BYTES, RawResponse};
use virtio_rdma::abi::{CONTROL_QUEUE_SIZE, DEVICE_ID, VENDOR_ID};
use vm_memory::{Bytes, GuestMemoryMmap};
use zerocopy::IntoBytes;

use super::virtio_mmio::VirtioDevice;
use crate::fabric::Fabric;
use lego_abi::virtio_mmio::F_VERSION_1;

/// The device.
#[derive(Debug)]
pub struct RdmaDevice {
    fabric: Arc<Fabric>,
}

impl RdmaDevice {
    /// A device over a fabric endpoint.
    pub fn new(fabric: Arc<Fabric>) -> RdmaDevice {
        RdmaDevice { fabric }
    }

    fn serve(&self, mem: &GuestMemoryMmap, queue: &mut Queue) {
        while let Some(chain) = queue.pop_descriptor_chain(mem) {
            let head = chain.head_index();
            let mut request = [0u8; MESSAGE_BYTES];
            let mut got = 0usize;
            let mut out: Option<(vm_memory::GuestAddress, u32)> = None;
            for d in chain {
                if d.is_write_only() {
                    if out.is_none() {
                        out = Some((d.addr(), d.len()));
                    }
                } else if got < MESSAGE_BYTES {
                    let n = (d.len() as usize).min(MESSAGE_BYTES - got);
                    if mem
                        .read_slice(&mut request[got..got + n], d.addr())
                        .is_err()
                    {
                        break;
                    }
                    got += n;
                }
            }
            let response = match Command::decode(&request[..got]) {
                Ok(cmd) => self.fabric.execute(cmd),
                Err(e) => {
                    tracing::debug!("invalid fabric control command: {e:?}");
                    RawResponse::err(CtrlStatus::Invalid)
                }
            };
            let written = match out {
                Some((addr, len))
                    if len as usize >= MESSAGE_BYTES
                        && mem.write_slice(response.as_bytes(), addr).is_ok() =>
                {
                    MESSAGE_BYTES as u32
                }
                _ => 0,
            };
            if queue.add_used(mem, head, written).is_err() {
                return;
            }
        }
    }
}

impl VirtioDevice for RdmaDevice {
    fn device_id(&self) -> u32 {
        DEVICE_ID
    }

    fn vendor_id(&self) -> u32 {
        VENDOR_ID
    }

    fn device_features(&self) -> u64 {
        F_VERSION_1
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[CONTROL_QUEUE_SIZE]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        let cfg = self.fabric.device_config();
        let bytes = cfg.as_bytes();
        for (i, b) in data.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| bytes.get(o + i).copied())
                .unwrap_or(0);
        }
    }

    fn process_queue(&mut self, mem: &GuestMemoryMmap, _index: u16, queue: &mut Queue) {
        self.serve(mem, queue);
    }
}
