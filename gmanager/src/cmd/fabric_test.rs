//! `lego fabric-test`: start a few components on a fabric, let them run self-tests against each
//! other, report their results. The harness the fabric's integration tests and `lego bench rpc`
//! run on (until clusters exist, it is also the quickest way to try the fabric).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lego_abi::Role;
use virtio_rdma::abi::MAX_PEERS;
use vmm::{ConsoleTarget, FabricConfig, VmConfig, VmEvent};

use crate::cli::FabricTestArgs;
use crate::exit;
use crate::fabric::{Coordinator, MemberEvent};

/// One component as given on the command line: `ROLE[:WORDS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentSpec {
    /// Its role.
    pub role: Role,
    /// Extra guest command-line words.
    pub cmdline: String,
}

/// Parses `ROLE[:WORDS]`.
pub fn parse_component(s: &str) -> Result<ComponentSpec, String> {
    let (role, words) = s.split_once(':').unwrap_or((s, ""));
    let role = Role::from_name(role.trim())
        .ok_or_else(|| format!("unknown role `{role}` in `{s}` (use pmon, mmon or smon)"))?;
    Ok(ComponentSpec {
        role,
        cmdline: words.trim().to_string(),
    })
}

/// What the components reported.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `(component name, result text)` in arrival order.
    pub results: Vec<(String, String)>,
    /// Failures (faults, crashes, unexpected exits), one line each.
    pub failures: Vec<String>,
}

/// Builds the configurations: ids in order, names per role (`p0`, `m0`, `m1`), and every
/// component connected to all others unless its words name `rpc_peers`.
pub fn configs(specs: &[ComponentSpec], a: &FabricTestArgs) -> Vec<(VmConfig, FabricConfig)> {
    let mut per_role = [0u32; 4];
    let n = specs.len() as u32;
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let id = i as u32;
            let mut cfg = VmConfig::new(s.role);
            cfg.component_id = id;
            cfg.name = format!("{}{}", s.role.letter(), per_role[s.role as usize]);
            per_role[s.role as usize] += 1;
            cfg.kvm_device = a.kvm.kvm_device.clone();
            cfg.console = if a.console {
                ConsoleTarget::Stderr
            } else {
                ConsoleTarget::Discard
            };
            cfg.mem_bytes = a.mem.unwrap_or(cfg.mem_bytes);
            if s.role == Role::Pmon && a.mem.is_some() {
                cfg.excache_bytes = 0;
            }
            let mut words = s.cmdline.clone();
            if !words.contains("rpc_peers=") {
                let others: Vec<String> =
                    (0..n).filter(|&j| j != id).map(|j| j.to_string()).collect();
                words = format!("{words} rpc_peers={}", others.join(","));
            }
            cfg.cmdline = words.trim().to_string();
            let mut f = FabricConfig::new(-1);
            f.poll_mode = a.fabric.poll.into();
            f.spin_ns = a.fabric.spin_us.saturating_mul(1000);
            f.net_latency_ns = a.fabric.net_latency_ns;
            f.net_bandwidth_mbps = a.fabric.net_bandwidth_mbps;
            (cfg, f)
        })
        .collect()
}

/// Most components on one fabric: its ids are `0..MAX_PEERS`, and the last one belongs to the
/// host's endpoint (the managers, in a cluster), as in `lego up`.
pub const MAX_COMPONENTS: usize = MAX_PEERS as usize - 1;

/// Whether `specs` make a fabric test that runs something: the reason it does not otherwise.
pub fn check_specs(specs: &[ComponentSpec]) -> Result<(), String> {
    if specs.len() < 2 {
        return Err("a fabric needs at least two components (give --component twice)".into());
    }
    if specs.len() > MAX_COMPONENTS {
        return Err(format!(
            "{} components requested; at most {MAX_COMPONENTS} fit on a fabric ({MAX_PEERS} \
             fabric ids, the last one is the host's endpoint)",
            specs.len()
        ));
    }
    if !specs.iter().any(|s| runs_selftest(&s.cmdline)) {
        return Err("no component runs a self-test: add `selftest=...` to one, see --help".into());
    }
    Ok(())
}

fn runs_selftest(cmdline: &str) -> bool {
    cmdline
        .split_whitespace()
        .any(|w| w.starts_with("selftest="))
}

/// Runs the fabric until every component with a `selftest=` word reported, then stops it.
/// `on_result` sees each result line as it arrives.
pub fn run_fabric(
    specs: &[ComponentSpec],
    a: &FabricTestArgs,
    mut on_result: impl FnMut(&str, &str),
) -> Result<Outcome> {
    check_specs(specs).map_err(anyhow::Error::msg)?;
    let cfgs = configs(specs, a);
    let expected = cfgs
        .iter()
        .filter(|(c, _)| runs_selftest(&c.cmdline))
        .count();
    let names: Vec<String> = cfgs.iter().map(|(c, _)| c.name.clone()).collect();
    let mut coord = Coordinator::new();
    for (cfg, f) in cfgs {
        coord.start(cfg, f).context("starting a component")?;
    }
    let mut out = Outcome::default();
    let mut killed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    let mut reported = 0;
    while reported < expected {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            out.failures.push(format!(
                "timed out after {} s with {reported} of {expected} results",
                a.timeout
            ));
            break;
        }
        let Some((id, ev)) = coord.next(left) else {
            continue;
        };
        let name = names
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| id.to_string());
        match ev {
            MemberEvent::Vm(VmEvent::Result { text }) => {
                on_result(&name, &text);
                if let Some(victim) = text.strip_prefix("failover armed: kill component ") {
                    let v: u32 = victim
                        .split_whitespace()
                        .next()
                        .and_then(|w| w.parse().ok())
                        .unwrap_or(u32::MAX);
                    if coord.kill(v) {
                        killed.push(v);
                    } else {
                        out.failures
                            .push(format!("{name} asked to kill unknown component {victim}"));
                    }
                    continue;
                }
                reported += 1;
                out.results.push((name, text));
            }
            MemberEvent::Vm(VmEvent::Fault(f)) => {
                out.failures.push(format!("{name}: {}", f.summary()))
            }
            MemberEvent::Vm(VmEvent::Crash { reason }) => {
                out.failures.push(format!("{name}: {reason}"))
            }
            MemberEvent::Vm(VmEvent::SetupFailed { message }) => {
                out.failures.push(format!("{name}: {message}"));
                break;
            }
            MemberEvent::Vm(_) => {}
            MemberEvent::Exited(code) => {
                if !killed.contains(&id) {
                    out.failures
                        .push(format!("{name}: VMM exited unexpectedly (status {code:?})"));
                    break;
                }
            }
        }
    }
    coord.shutdown(Duration::from_secs(2));
    Ok(out)
}

/// Runs `lego fabric-test`. Components that cannot make a test (an unknown role, fewer than
/// two, more than the fabric has ids for, none running a self-test) are a usage error: nothing
/// is started.
pub fn run(a: &FabricTestArgs) -> Result<u8> {
    let specs = match a
        .components
        .iter()
        .map(|s| parse_component(s))
        .collect::<Result<Vec<ComponentSpec>, _>>()
        .and_then(|specs| check_specs(&specs).map(|()| specs))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let json = a.json;
    let out = run_fabric(&specs, a, |name, text| {
        if json {
            println!(
                "{}",
                serde_json::json!({ "component": name, "result": text })
            );
        } else {
            println!("[{name}] {text}");
        }
    })?;
    for f in &out.failures {
        eprintln!("error: {f}");
    }
    let failed = out.results.iter().any(|(_, t)| t.contains("FAILED"));
    Ok(if out.failures.is_empty() && !failed {
        exit::OK
    } else {
        exit::ERROR
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_specs() {
        assert_eq!(
            parse_component("pmon:selftest=rpc peer=0"),
            Ok(ComponentSpec {
                role: Role::Pmon,
                cmdline: "selftest=rpc peer=0".into()
            })
        );
        assert_eq!(
            parse_component("smon"),
            Ok(ComponentSpec {
                role: Role::Smon,
                cmdline: String::new()
            })
        );
        assert!(
            parse_component("gpu:x")
                .unwrap_err()
                .contains("unknown role `gpu`")
        );
    }

    #[test]
    fn specs_that_run_nothing_or_do_not_fit_are_refused() {
        let c = |s: &str| parse_component(s).unwrap();
        let ok = [c("smon"), c("pmon:selftest=rpc peer=0")];
        assert_eq!(check_specs(&ok), Ok(()));
        let idle = [c("smon"), c("pmon:peer=0")];
        assert!(
            check_specs(&idle)
                .unwrap_err()
                .contains("no component runs a self-test")
        );
        // A word that merely contains the text is not a self-test.
        let lookalike = [c("smon"), c("pmon:noselftest=rpc")];
        assert!(check_specs(&lookalike).is_err());
        assert!(check_specs(&ok[..1]).unwrap_err().contains("at least two"));
        let mut many = vec![c("pmon:selftest=rpc peer=1")];
        many.extend((1..MAX_COMPONENTS).map(|_| c("smon")));
        assert_eq!(check_specs(&many), Ok(()), "{} fit", MAX_COMPONENTS);
        many.push(c("smon"));
        assert!(
            check_specs(&many)
                .unwrap_err()
                .contains("64 components requested; at most 63 fit")
        );
    }
}
