//! Messages between the monitors and the global managers (GPM, GMM, GSM).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// How often a monitor reports its load; a report is also its heartbeat.
pub const REPORT_INTERVAL_NS: u64 = 100_000_000;
/// Reports missed before the managers declare a component hung.
pub const MISSED_REPORTS: u32 = 10;

/// Values of [`LoadReport::health`].
pub mod health {
    /// Serving.
    pub const OK: u32 = 0;
    /// An sComponent whose disk was refused (damaged, foreign, or not mountable with this
    /// memory): it answers every file request with `EUCLEAN`; the reason is on its console.
    pub const STORAGE_REFUSED: u32 = 1;
}

/// A monitor's periodic load report (`op::LOAD_REPORT`).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct LoadReport {
    /// `crate::VERSION`.
    pub version: u32,
    /// The reporter's role (`lego_abi::Role` value).
    pub role: u32,
    /// Its incarnation.
    pub incarnation: u32,
    /// vCPUs.
    pub cpus: u32,
    /// User threads running (pComponents).
    pub threads: u32,
    /// Whether the component can serve its role ([`health`]): a storage component whose disk
    /// was refused reports [`health::STORAGE_REFUSED`], and the managers show it as failed.
    pub health: u32,
    /// Memory the monitor can give out (mComponents: vRegion frames; others: free frames).
    pub mem_free: u64,
    /// Total memory of the component.
    pub mem_total: u64,
    /// Requests served since boot (a measure of load).
    pub served: u64,
    /// Calls made since boot.
    pub calls: u64,
    /// Nanoseconds since boot (guest clock).
    pub uptime_ns: u64,
    /// Nanoseconds spent serving requests since boot (`lego_rpc` `RpcStats::serve_ns`).
    pub serve_ns: u64,
    /// Nanoseconds its calls took since boot (`RpcStats::call_ns`).
    pub call_ns: u64,
    /// Times it slept waiting for messages since boot.
    pub sleeps: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_as_bytes() {
        let r = LoadReport {
            version: 1,
            role: 2,
            threads: 3,
            mem_free: 1 << 30,
            ..Default::default()
        };
        let back = LoadReport::read_from_bytes(r.as_bytes()).unwrap();
        assert_eq!(back, r);
        assert_eq!(core::mem::size_of::<LoadReport>(), 88);
    }
}
