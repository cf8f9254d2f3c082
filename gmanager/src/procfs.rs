//! Reading a process's memory use from /proc.

/// Resident memory of a process, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rss {
    /// Everything resident.
    pub total: u64,
    /// Anonymous memory (heap, stacks).
    pub anon: u64,
    /// File-backed (the binary, libraries).
    pub file: u64,
    /// Shared memory: for a VMM, the guest memory it has touched (memfd pages).
    pub shmem: u64,
}

impl Rss {
    /// What the VMM itself costs: resident memory that is not guest memory.
    pub fn overhead(&self) -> u64 {
        self.total.saturating_sub(self.shmem)
    }
}

/// Parses the `VmRSS`/`RssAnon`/`RssFile`/`RssShmem` lines of /proc/PID/status.
pub fn parse_status(text: &str) -> Rss {
    let mut r = Rss::default();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kib = rest
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
            * 1024;
        match key {
            "VmRSS" => r.total = kib,
            "RssAnon" => r.anon = kib,
            "RssFile" => r.file = kib,
            "RssShmem" => r.shmem = kib,
            _ => {}
        }
    }
    r
}

/// Reads a live process's resident memory.
pub fn rss(pid: u32) -> Option<Rss> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .map(|t| parse_status(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status() {
        let t = "Name:\tlego\nVmRSS:\t   10240 kB\nRssAnon:\t    2048 kB\nRssFile:\t    4096 kB\nRssShmem:\t    4096 kB\n";
        let r = parse_status(t);
        assert_eq!(r.total, 10 << 20);
        assert_eq!(r.shmem, 4 << 20);
        assert_eq!(r.overhead(), 6 << 20);
    }
}
