//! What a cluster is: from command-line counts and sizes, or a TOML spec file. Everything is
//! validated before anything starts, so a bad spec leaves nothing behind.

use std::collections::HashSet;

use lego_abi::Role;
use serde::{Deserialize, Serialize};
use virtio_rdma::abi::{MAX_PEERS, PollMode};
use vmm::VmConfig;
use vmm::config::round_mem;

use crate::size;

/// Most components in a cluster (the last fabric id is the managers').
pub const MAX_COMPONENTS: usize = MAX_PEERS as usize - 1;

/// One role's section of a spec file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSection {
    /// How many.
    pub count: Option<u32>,
    /// Memory each (e.g. "256M").
    pub mem: Option<String>,
    /// vCPUs each.
    pub vcpus: Option<u32>,
    /// ExCache (pmon).
    pub excache: Option<String>,
    /// Disk image size (smon).
    pub disk: Option<String>,
    /// Buffer cache size (mmon).
    pub cache: Option<String>,
}

/// An explicitly named component in a spec file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSection {
    /// Its name.
    pub name: String,
    /// Its role (`pmon`, `mmon`, `smon`).
    pub role: String,
    /// Memory.
    pub mem: Option<String>,
    /// vCPUs.
    pub vcpus: Option<u32>,
    /// ExCache (pmon).
    pub excache: Option<String>,
    /// Disk image size (smon).
    pub disk: Option<String>,
    /// Buffer cache size (mmon).
    pub cache: Option<String>,
}

/// A spec file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Cluster name.
    pub name: Option<String>,
    /// `busy`, `adaptive` or `interrupt`.
    pub poll: Option<String>,
    /// Adaptive polling budget.
    pub spin_us: Option<u32>,
    /// Network model latency.
    pub net_latency_ns: Option<u32>,
    /// Network model bandwidth.
    pub net_bandwidth_mbps: Option<u32>,
    /// Open the disk images with O_DIRECT (I/O reaches the host's device, bypassing its page
    /// cache, like real hardware).
    pub disk_direct: Option<bool>,
    /// Isolate programs from the monitors' memory (default true; false only to measure what
    /// isolation costs).
    pub isolation: Option<bool>,
    /// pComponents.
    pub pmon: Option<RoleSection>,
    /// mComponents.
    pub mmon: Option<RoleSection>,
    /// sComponents.
    pub smon: Option<RoleSection>,
    /// Explicit components (after the counted ones).
    #[serde(default)]
    pub component: Vec<ComponentSection>,
}

/// A component as the cluster will run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentSpec {
    /// Name (`p0`, `m1`, or as given).
    pub name: String,
    /// Role name.
    pub role: String,
    /// Fabric id.
    pub id: u32,
    /// Memory.
    pub mem_bytes: u64,
    /// vCPUs.
    pub vcpus: u32,
    /// ExCache (pmon).
    pub excache_bytes: u64,
    /// Disk image bytes (smon), else 0.
    #[serde(default)]
    pub disk_bytes: u64,
    /// Whether the disk size was asked for (`--smon-disk`, `disk =` in the spec) rather than
    /// the default: an existing image of another size is then an error, not silently kept.
    #[serde(default)]
    pub disk_explicit: bool,
    /// Buffer cache bytes (mmon), else 0.
    #[serde(default)]
    pub cache_bytes: u64,
    /// Extra guest command-line words (testing).
    #[serde(default)]
    pub extra_cmdline: String,
}

impl ComponentSpec {
    /// The role.
    pub fn role(&self) -> Role {
        Role::from_name(&self.role).unwrap_or(Role::Pmon)
    }
}

/// A cluster as it will run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Name.
    pub name: String,
    /// Polling mode name.
    pub poll: String,
    /// Adaptive polling budget.
    pub spin_us: u32,
    /// Network model.
    pub net_latency_ns: u32,
    /// Network model.
    pub net_bandwidth_mbps: u32,
    /// Disk images opened with O_DIRECT.
    #[serde(default)]
    pub disk_direct: bool,
    /// Programs isolated from the monitors' memory.
    #[serde(default = "yes")]
    pub isolation: bool,
    /// Components, in id order.
    pub components: Vec<ComponentSpec>,
}

/// Command-line overrides (from `lego up`).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// Counts per role (pmon, mmon, smon).
    pub counts: [Option<u32>; 3],
    /// Memory per role.
    pub mem: [Option<u64>; 3],
    /// vCPUs per role.
    pub vcpus: [Option<u32>; 3],
    /// ExCache of pComponents.
    pub excache: Option<u64>,
    /// Disk of sComponents.
    pub disk: Option<u64>,
    /// Buffer cache of mComponents.
    pub cache: Option<u64>,
    /// O_DIRECT disk images.
    pub disk_direct: Option<bool>,
    /// Isolation of programs.
    pub isolation: Option<bool>,
    /// Cluster name.
    pub name: Option<String>,
    /// Polling and network model.
    pub poll: Option<String>,
    /// Adaptive budget.
    pub spin_us: Option<u32>,
    /// Network model.
    pub net_latency_ns: Option<u32>,
    /// Network model.
    pub net_bandwidth_mbps: Option<u32>,
}

/// Default counts of the roles that neither a flag nor the spec file counts: one pComponent, two
/// mComponents, one sComponent (the smallest cluster that exercises every path). A spec file
/// that counts any role or names components describes the whole cluster: its other roles
/// default to none. Flags alone only change the roles they name (`-m 4` is 1P4M1S).
pub const DEFAULT_COUNTS: [u32; 3] = [1, 2, 1];

fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_size(s: &Option<String>, what: &str) -> Result<Option<u64>, String> {
    s.as_deref()
        .map(|v| size::parse(v).map_err(|e| format!("{what}: {e}")))
        .transpose()
}

/// Parses a spec file's text (unknown keys are errors, with their line).
pub fn parse_file(text: &str) -> Result<SpecFile, String> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().trim().replace('\n', " ");
        match line {
            Some(l) => format!("cluster spec, line {l}: {msg}"),
            None => format!("cluster spec: {msg}"),
        }
    })
}

/// Resolves a spec from an optional file and command-line overrides, and validates it against
/// a host with `host_mem` bytes of memory.
pub fn resolve(
    file: Option<SpecFile>,
    o: &Overrides,
    host_mem: u64,
) -> Result<ClusterSpec, String> {
    let f = file.unwrap_or_default();
    let sections = [f.pmon.clone(), f.mmon.clone(), f.smon.clone()];
    let file_counts = sections
        .iter()
        .any(|s| s.as_ref().is_some_and(|s| s.count.is_some()))
        || !f.component.is_empty();
    let name = o
        .name
        .clone()
        .or(f.name.clone())
        .unwrap_or_else(|| "default".into());
    if !valid_name(&name, 32) {
        return Err(format!(
            "cluster name `{name}`: use 1-32 letters, digits, - or _"
        ));
    }
    let poll = o
        .poll
        .clone()
        .or(f.poll.clone())
        .unwrap_or_else(|| "adaptive".into());
    if PollMode::from_name(&poll).is_none() {
        return Err(format!(
            "poll mode `{poll}`: use busy, adaptive or interrupt"
        ));
    }
    let mut components = Vec::new();
    for (i, role) in Role::ALL.into_iter().enumerate() {
        let sec = sections[i].clone().unwrap_or_default();
        let default_count = if file_counts { 0 } else { DEFAULT_COUNTS[i] };
        let count = o.counts[i].or(sec.count).unwrap_or(default_count);
        let mem = o.mem[i].or(parse_size(&sec.mem, &format!("{} mem", role.name()))?);
        let excache = if role == Role::Pmon {
            o.excache.or(parse_size(&sec.excache, "pmon excache")?)
        } else {
            None
        };
        if role != Role::Pmon && sec.excache.is_some() {
            return Err(format!("{}: only pmon takes an excache", role.name()));
        }
        let disk = match role {
            Role::Smon => o.disk.or(parse_size(&sec.disk, "smon disk")?),
            _ if sec.disk.is_some() => {
                return Err(format!("{}: only smon takes a disk", role.name()));
            }
            _ => None,
        };
        let cache = match role {
            Role::Mmon => o.cache.or(parse_size(&sec.cache, "mmon cache")?),
            _ if sec.cache.is_some() => {
                return Err(format!("{}: only mmon takes a cache", role.name()));
            }
            _ => None,
        };
        for n in 0..count {
            let mut c = component(
                role,
                format!("{}{n}", role.letter()),
                mem,
                o.vcpus[i].or(sec.vcpus),
                excache,
            );
            check_vm(&c)?;
            sizes(&mut c, disk, cache)?;
            components.push(c);
        }
    }
    for c in &f.component {
        let role = Role::from_name(&c.role).ok_or_else(|| {
            format!(
                "component `{}`: unknown role `{}` (use pmon, mmon or smon)",
                c.name, c.role
            )
        })?;
        if !valid_name(&c.name, 15) {
            return Err(format!(
                "component name `{}`: use 1-15 letters, digits, - or _",
                c.name
            ));
        }
        let excache = parse_size(&c.excache, &format!("{} excache", c.name))?;
        let mut comp = component(
            role,
            c.name.clone(),
            parse_size(&c.mem, &format!("{} mem", c.name))?,
            c.vcpus,
            excache,
        );
        let disk = parse_size(&c.disk, &format!("{} disk", c.name))?;
        let cache = parse_size(&c.cache, &format!("{} cache", c.name))?;
        if disk.is_some() && role != Role::Smon {
            return Err(format!("{}: only smon takes a disk", c.name));
        }
        if cache.is_some() && role != Role::Mmon {
            return Err(format!("{}: only mmon takes a cache", c.name));
        }
        check_vm(&comp)?;
        sizes(&mut comp, disk, cache)?;
        components.push(comp);
    }
    let mut seen = HashSet::new();
    for c in &components {
        if !seen.insert(c.name.clone()) {
            return Err(format!("two components are named `{}`", c.name));
        }
    }
    if !components.iter().any(|c| c.role == "pmon") {
        return Err(if o.counts[0] == Some(0) {
            "-p 0: a cluster needs at least one pComponent".into()
        } else {
            "the spec has no pComponent: a cluster needs at least one ([pmon] count = 1, or -p 1)"
                .into()
        });
    }
    if components.len() > MAX_COMPONENTS {
        return Err(format!(
            "{} components requested; at most {MAX_COMPONENTS} fit in a cluster",
            components.len()
        ));
    }
    for (i, c) in components.iter_mut().enumerate() {
        c.id = i as u32;
    }
    let total = memory_of(&components);
    if total > host_mem {
        return Err(format!(
            "the cluster needs {} of guest memory; this host has {} (use fewer components or \
             smaller --mmon-mem, or --overcommit)",
            size::human(total),
            size::human(host_mem)
        ));
    }
    Ok(ClusterSpec {
        name,
        poll,
        spin_us: o.spin_us.or(f.spin_us).unwrap_or(50),
        net_latency_ns: o.net_latency_ns.or(f.net_latency_ns).unwrap_or(0),
        net_bandwidth_mbps: o.net_bandwidth_mbps.or(f.net_bandwidth_mbps).unwrap_or(0),
        disk_direct: o.disk_direct.or(f.disk_direct).unwrap_or(false),
        isolation: o.isolation.or(f.isolation).unwrap_or(true),
        components,
    })
}

/// What the VMM would refuse in a component (memory, vCPUs, ExCache), before its disk and cache
/// are sized from its memory: `--mmon-mem 0` is about the memory, not the cache.
fn check_vm(c: &ComponentSpec) -> Result<(), String> {
    let mut cfg = VmConfig::new(c.role());
    cfg.mem_bytes = c.mem_bytes;
    cfg.vcpus = c.vcpus;
    cfg.excache_bytes = c.excache_bytes;
    cfg.validate(u32::MAX)
        .map_err(|e| format!("{}: {e}", c.name))
}

/// The guest memory components take on the host (as the VMM rounds it).
pub fn memory_of(components: &[ComponentSpec]) -> u64 {
    components.iter().map(|c| round_mem(c.mem_bytes)).sum()
}

/// Guest memory another running cluster has promised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InUse {
    /// The cluster's name.
    pub cluster: String,
    /// Its guest memory (every component, failed ones too: a restart takes it again).
    pub bytes: u64,
}

/// Admission control over every cluster on the host: cluster `name`, needing `need` bytes of
/// guest memory, fits next to `others` on a host with `host_mem` bytes.
pub fn admit(name: &str, need: u64, others: &[InUse], host_mem: u64) -> Result<(), String> {
    let used: u64 = others.iter().map(|o| o.bytes).sum();
    if used.saturating_add(need) <= host_mem {
        return Ok(());
    }
    let list: Vec<String> = others
        .iter()
        .map(|o| format!("{} {}", o.cluster, size::human(o.bytes)))
        .collect();
    Err(format!(
        "cluster `{name}` needs {} of guest memory, but running clusters promise {} of this \
         host's {} ({}): `lego down` one, ask for less memory, or add --overcommit",
        size::human(need),
        size::human(used),
        size::human(host_mem),
        list.join(", ")
    ))
}

/// Default disk image of an sComponent (sparse: it costs host disk only as it fills).
pub const DEFAULT_DISK: u64 = 1 << 30;
/// Smallest and largest disk image.
pub const DISK_RANGE: (u64, u64) = (16 << 20, 16 << 40);
/// Smallest buffer cache.
pub const MIN_CACHE: u64 = 1 << 20;

/// Fills in the disk (smon) and buffer cache (mmon) sizes, with defaults, and checks them.
fn sizes(c: &mut ComponentSpec, disk: Option<u64>, cache: Option<u64>) -> Result<(), String> {
    match c.role() {
        Role::Smon => {
            c.disk_explicit = disk.is_some();
            let d = disk.unwrap_or(DEFAULT_DISK);
            if d < DISK_RANGE.0 || d > DISK_RANGE.1 || !d.is_multiple_of(4096) {
                return Err(format!(
                    "{}: disk {} must be a multiple of 4 KiB between {} and {}",
                    c.name,
                    size::human(d),
                    size::human(DISK_RANGE.0),
                    size::human(DISK_RANGE.1)
                ));
            }
            c.disk_bytes = d;
        }
        Role::Mmon => {
            // Default: an eighth of the component's memory, at most 1 GiB.
            let d = cache.unwrap_or((c.mem_bytes / 8).min(1 << 30));
            if d < MIN_CACHE || d > c.mem_bytes / 2 {
                return Err(format!(
                    "{}: buffer cache {} must be between {} and half its memory ({})",
                    c.name,
                    size::human(d),
                    size::human(MIN_CACHE),
                    size::human(c.mem_bytes / 2)
                ));
            }
            c.cache_bytes = d;
        }
        Role::Pmon => {}
    }
    Ok(())
}

fn component(
    role: Role,
    name: String,
    mem: Option<u64>,
    vcpus: Option<u32>,
    excache: Option<u64>,
) -> ComponentSpec {
    let d = VmConfig::new(role);
    ComponentSpec {
        name,
        role: role.name().to_string(),
        id: 0,
        mem_bytes: mem.unwrap_or(d.mem_bytes),
        vcpus: vcpus.unwrap_or(d.vcpus),
        excache_bytes: excache.unwrap_or(d.excache_bytes),
        disk_bytes: 0,
        disk_explicit: false,
        cache_bytes: 0,
        extra_cmdline: String::new(),
    }
}

/// The host's memory, from /proc/meminfo; `LEGO_HOST_MEMORY` (a size) pretends the host has
/// that much instead (to test admission control without the memory it guards).
pub fn host_memory() -> u64 {
    if let Some(m) = std::env::var("LEGO_HOST_MEMORY")
        .ok()
        .and_then(|v| size::parse(&v).ok())
    {
        return m;
    }
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                let rest = l.strip_prefix("MemTotal:")?;
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        })
        .map_or(u64::MAX, |kib| kib * 1024)
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: u64 = 24 << 30;

    fn names(s: &ClusterSpec) -> Vec<&str> {
        s.components.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn defaults_are_1p2m1s() {
        let s = resolve(None, &Overrides::default(), HOST).unwrap();
        assert_eq!(names(&s), ["p0", "m0", "m1", "s0"]);
        assert_eq!(s.components[2].id, 2);
        assert_eq!(s.name, "default");
        assert_eq!(s.poll, "adaptive");
    }

    #[test]
    fn counts_from_flags_change_only_their_roles() {
        let o = Overrides {
            counts: [Some(2), None, Some(0)],
            ..Default::default()
        };
        let s = resolve(None, &o, HOST).unwrap();
        assert_eq!(names(&s), ["p0", "p1", "m0", "m1"]);
        // `lego up -m 4`: one pComponent and one sComponent, as by default.
        let o = Overrides {
            counts: [None, Some(4), None],
            ..Default::default()
        };
        let s = resolve(None, &o, HOST).unwrap();
        assert_eq!(names(&s), ["p0", "m0", "m1", "m2", "m3", "s0"]);
        // A spec file that counts roles describes the whole cluster.
        let f = parse_file("[pmon]\ncount = 1\n").unwrap();
        let s = resolve(Some(f), &Overrides::default(), HOST).unwrap();
        assert_eq!(names(&s), ["p0"]);
    }

    #[test]
    fn memory_is_checked_before_the_cache_is_sized_from_it() {
        let o = Overrides {
            mem: [None, Some(0), None],
            ..Default::default()
        };
        let e = resolve(None, &o, HOST).unwrap_err();
        assert!(e.starts_with("m0: mmon needs at least"), "{e}");
    }

    #[test]
    fn an_explicit_disk_size_is_marked() {
        let s = resolve(None, &Overrides::default(), HOST).unwrap();
        assert!(!s.components[3].disk_explicit);
        let o = Overrides {
            disk: Some(64 << 20),
            ..Default::default()
        };
        let s = resolve(None, &o, HOST).unwrap();
        assert!(s.components[3].disk_explicit);
        assert_eq!(s.components[3].disk_bytes, 64 << 20);
        let f = parse_file("[smon]\ncount = 1\ndisk = \"32M\"\n[pmon]\ncount = 1\n").unwrap();
        let s = resolve(Some(f), &Overrides::default(), HOST).unwrap();
        assert!(s.components[1].disk_explicit);
    }

    #[test]
    fn admission_counts_every_running_cluster() {
        let gib = 1u64 << 30;
        let others = [
            InUse {
                cluster: "a".into(),
                bytes: 10 * gib,
            },
            InUse {
                cluster: "b".into(),
                bytes: 10 * gib,
            },
        ];
        admit("c", 4 * gib, &others, 24 * gib).expect("fits exactly");
        admit("c", 4 * gib, &[], 24 * gib).expect("alone");
        let e = admit("c", 5 * gib, &others, 24 * gib).unwrap_err();
        assert_eq!(
            e,
            "cluster `c` needs 5 GiB of guest memory, but running clusters promise 20 GiB of \
             this host's 24 GiB (a 10 GiB, b 10 GiB): `lego down` one, ask for less memory, or \
             add --overcommit"
        );
    }

    #[test]
    fn spec_file_with_sections_and_explicit_components() {
        let f = parse_file(
            "name = \"lab\"\npoll = \"busy\"\n[pmon]\ncount = 1\nexcache = \"32M\"\n[mmon]\ncount = 1\nmem = \"512M\"\n\
             [[component]]\nname = \"store\"\nrole = \"smon\"\nmem = \"64M\"\n",
        )
        .unwrap();
        let s = resolve(Some(f), &Overrides::default(), HOST).unwrap();
        assert_eq!(names(&s), ["p0", "m0", "store"]);
        assert_eq!(s.components[0].excache_bytes, 32 << 20);
        assert_eq!(s.components[1].mem_bytes, 512 << 20);
        assert_eq!(s.name, "lab");
        assert_eq!(s.poll, "busy");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_place() {
        let e = parse_file("[pmon]\ncount = 1\ncolour = \"red\"\n").unwrap_err();
        assert!(
            e.starts_with("cluster spec, line 3: unknown field `colour`"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        let e = parse_file("nodes = 3\n").unwrap_err();
        assert!(e.contains("nodes"), "{e}");
    }

    #[test]
    fn bad_clusters_are_refused() {
        let o = Overrides {
            counts: [Some(0), Some(1), None],
            ..Default::default()
        };
        assert_eq!(
            resolve(None, &o, HOST).unwrap_err(),
            "-p 0: a cluster needs at least one pComponent"
        );
        let f = parse_file("[mmon]\ncount = 1\n").unwrap();
        assert!(
            resolve(Some(f), &Overrides::default(), HOST)
                .unwrap_err()
                .starts_with("the spec has no pComponent")
        );
        let o = Overrides {
            counts: [Some(1), Some(20), None],
            mem: [None, Some(2 << 30), None],
            ..Default::default()
        };
        assert!(
            resolve(None, &o, HOST)
                .unwrap_err()
                .contains("of guest memory; this host has")
        );
        let f = parse_file("[[component]]\nname = \"p0\"\nrole = \"smon\"\n").unwrap();
        assert!(
            resolve(
                Some(f),
                &Overrides {
                    counts: [Some(1), None, None],
                    ..Default::default()
                },
                HOST
            )
            .unwrap_err()
            .contains("two components are named `p0`")
        );
        let o = Overrides {
            name: Some("no spaces".into()),
            ..Default::default()
        };
        assert!(
            resolve(None, &o, HOST)
                .unwrap_err()
                .contains("cluster name")
        );
        let o = Overrides {
            mem: [None, Some(16 << 20), None],
            ..Default::default()
        };
        assert!(
            resolve(None, &o, HOST)
                .unwrap_err()
                .contains("m0: mmon needs at least")
        );
        let o = Overrides {
            counts: [Some(70), None, None],
            mem: [Some(64 << 20), None, None],
            excache: Some(0),
            ..Default::default()
        };
        let e = resolve(None, &o, HOST).unwrap_err();
        assert!(e.contains("at most 63"), "{e}");
        let f = parse_file("[smon]\nexcache = \"1M\"\n").unwrap();
        assert!(
            resolve(Some(f), &Overrides::default(), HOST)
                .unwrap_err()
                .contains("only pmon")
        );
    }
}
