//! A minimal virtio driver core: the virtio-mmio transport and a split virtqueue used
//! synchronously (one request in flight, the driver polls the used ring). Enough for control
//! queues and simple block I/O.
//!
//! Our own rather than the `virtio-drivers` crate: that one only accepts the device types it
//! knows, and our fabric device has a private id.

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
}
