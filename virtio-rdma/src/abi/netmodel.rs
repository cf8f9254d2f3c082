//! The network model: added one-way latency and a bandwidth limit per link, so a user can ask
//! what LegoOS would do on a given fabric (40 Gb/s InfiniBand at 1.5 us, CXL, ...). The sender
//! computes when each message would arrive; the receiver does not see it before then.

/// A link's parameters (zero values mean "off").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkModel {
    /// One-way latency added per message, ns.
    pub latency_ns: u64,
    /// Bandwidth in Mbit/s (0: unlimited).
    pub bandwidth_mbps: u64,
}

impl LinkModel {
    /// Whether the model changes anything.
    pub fn is_off(&self) -> bool {
        self.latency_ns == 0 && self.bandwidth_mbps == 0
    }

    /// Nanoseconds to serialize `bytes` onto the link.
    pub fn serialization_ns(&self, bytes: u64) -> u64 {
        if self.bandwidth_mbps == 0 {
            0
        } else {
            // bits / (Mbit/s) = us; * 1000 for ns.
            (u128::from(bytes) * 8 * 1000 / u128::from(self.bandwidth_mbps)) as u64
        }
    }
}

/// One direction of a link: when it is free again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkClock {
    free_at_ns: u64,
}

impl LinkClock {
    /// Sends `bytes` at `now_ns`: returns when they arrive at the other end. Messages queue
    /// behind each other on the link (bandwidth), then fly for `latency_ns`.
    pub fn transmit(&mut self, model: &LinkModel, now_ns: u64, bytes: u64) -> u64 {
        if model.is_off() {
            return 0;
        }
        let start = self.free_at_ns.max(now_ns);
        self.free_at_ns = start + model.serialization_ns(bytes);
        self.free_at_ns + model.latency_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_gbps_infiniband() {
        let ib = LinkModel {
            latency_ns: 1500,
            bandwidth_mbps: 40_000,
        };
        // 4 KiB at 40 Gb/s: 819.2 ns.
        assert_eq!(ib.serialization_ns(4096), 819);
        let mut c = LinkClock::default();
        assert_eq!(c.transmit(&ib, 10_000, 4096), 10_000 + 819 + 1500);
        // A second message right behind it queues.
        assert_eq!(c.transmit(&ib, 10_000, 4096), 10_000 + 2 * 819 + 1500);
        // After the link drained, no queueing.
        assert_eq!(c.transmit(&ib, 100_000, 64), 100_000 + 12 + 1500);
    }

    #[test]
    fn off_means_immediate() {
        let mut c = LinkClock::default();
        assert_eq!(c.transmit(&LinkModel::default(), 5, 1 << 20), 0);
    }

    proptest::proptest! {
        #[test]
        fn arrivals_never_precede_sending_plus_latency(sizes in proptest::collection::vec(1u64..100_000, 1..50), lat in 0u64..10_000, bw in 1u64..100_000) {
            let m = LinkModel { latency_ns: lat, bandwidth_mbps: bw };
            let mut c = LinkClock::default();
            let mut now = 0;
            let mut last = 0;
            for s in sizes {
                now += 7;
                let at = c.transmit(&m, now, s);
                proptest::prop_assert!(at >= now + lat + m.serialization_ns(s));
                proptest::prop_assert!(at >= last, "FIFO on a link");
                last = at;
            }
        }
    }
}
