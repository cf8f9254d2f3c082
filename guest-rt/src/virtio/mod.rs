//! A minimal virtio driver core: the virtio-mmio transport, a split virtqueue with several
//! chains in flight (the driver polls the used ring), and the block driver.
//!
//! Our own rather than the `virtio-drivers` crate: that one only accepts the device types it
//! knows, and our fabric device has a private id.

pub mod blk;
pub mod blk_selftest;
pub mod mmio;
pub mod queue;

/// Why a virtio operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VirtioError {
    /// No virtio-mmio device at that address (bad magic or version).
    NotVirtio,
    /// A device of another type.
    WrongDevice(u32),
    /// The device refused our features.
    FeaturesRejected,
    /// The queue does not exist or is too small.
    BadQueue,
    /// No memory for the queue.
    OutOfMemory,
    /// The device did not answer in time.
    Timeout,
    /// The device wrote less than expected.
    ShortResponse(u32),
    /// Not enough free descriptors for the chain.
    QueueFull,
    /// The device completed a chain that was not in flight (a device bug).
    BadCompletion(u32),
    /// The device's registers could not be mapped.
    Map,
    /// Block device: the device answered IOERR for the request starting at this block.
    Io {
        /// First block of the failed request.
        block: u64,
    },
    /// Block device: the device does not support the request (UNSUPP).
    Unsupported,
    /// Block device: blocks beyond the end of the device.
    OutOfRange {
        /// First block asked for.
        block: u64,
        /// Blocks on the device.
        blocks: u64,
    },
    /// Block device: a buffer that is not a non-zero multiple of the block size.
    BadLength(usize),
}

impl core::fmt::Display for VirtioError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            VirtioError::NotVirtio => write!(f, "no virtio-mmio device there"),
            VirtioError::WrongDevice(id) => write!(f, "device of another type ({id})"),
            VirtioError::FeaturesRejected => write!(f, "the device refused our features"),
            VirtioError::BadQueue => write!(f, "unusable queue"),
            VirtioError::OutOfMemory => write!(f, "out of memory"),
            VirtioError::Timeout => write!(f, "the device did not answer in time"),
            VirtioError::ShortResponse(n) => {
                write!(f, "the device wrote {n} bytes, or no status")
            }
            VirtioError::QueueFull => write!(f, "queue full"),
            VirtioError::BadCompletion(id) => write!(f, "device completed unknown chain {id}"),
            VirtioError::Map => write!(f, "cannot map the device's registers"),
            VirtioError::Io { block } => write!(f, "I/O error at block {block}"),
            VirtioError::Unsupported => write!(f, "request unsupported by the device"),
            VirtioError::OutOfRange { block, blocks } => {
                write!(f, "block {block} is beyond the device's {blocks} blocks")
            }
            VirtioError::BadLength(n) => {
                write!(f, "buffer of {n} bytes is not a non-zero multiple of 4096")
            }
        }
    }
}

impl From<crate::mm::paging::MapError> for VirtioError {
    fn from(_: crate::mm::paging::MapError) -> VirtioError {
        VirtioError::Map
    }
}
