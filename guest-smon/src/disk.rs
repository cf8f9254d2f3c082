//! The virtio-blk device as the filesystem's block device.

use guest_rt::virtio::VirtioError;
use guest_rt::virtio::blk::BlkDevice;
use lego_fs::{Block, BlockDevice, DevError, IoTime};

/// The disk.
#[derive(Debug)]
pub struct Disk(pub BlkDevice);

fn dev_error(e: VirtioError) -> DevError {
    match e {
        VirtioError::OutOfRange { .. } => DevError::OutOfRange,
        _ => DevError::Io,
    }
}

impl BlockDevice for Disk {
    fn block_count(&self) -> u64 {
        self.0.block_count()
    }

    fn read(&mut self, block: u64, buf: &mut Block) -> Result<(), DevError> {
        if block >= self.0.block_count() {
            return Err(DevError::OutOfRange);
        }
        self.0.read(block, buf).map_err(dev_error)
    }

    fn write(&mut self, block: u64, buf: &Block) -> Result<(), DevError> {
        if block >= self.0.block_count() {
            return Err(DevError::OutOfRange);
        }
        self.0.write(block, buf).map_err(dev_error)
    }

    fn flush(&mut self) -> Result<(), DevError> {
        self.0.flush().map_err(dev_error)
    }

    fn submit(&mut self) -> Result<(), DevError> {
        self.0.submit().map_err(dev_error)
    }

    fn io_time(&self) -> IoTime {
        let s = self.0.stats();
        IoTime {
            round_trips: s.notifies,
            wait_ns: s.wait_ns,
        }
    }

    fn read_many(&mut self, first: u64, bufs: &mut [Block]) -> Result<(), DevError> {
        let end = first.checked_add(bufs.len() as u64);
        if end.is_none_or(|e| e > self.0.block_count()) {
            return Err(DevError::OutOfRange);
        }
        self.0
            .read_many(first, bufs.as_flattened_mut())
            .map_err(dev_error)
    }
}
