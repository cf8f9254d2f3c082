//! The coordinator: starts one VMM per component with a socket to itself, and introduces every
//! component to every other one by passing their descriptors (guest memory memfd, MR directory,
//! doorbell eventfd) over those sockets. A VMM that exits (a killed component) is noticed at
//! once, through its closed stdout, and every survivor is told; the coordinator then lets go of
//! the dead VMM's descriptors, so the host can free its memory.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use virtio_rdma::backend::wire::{self, PeerInfo, ToCoordinator, ToVmm};
use vmm::{FabricConfig, VmConfig, VmEvent};

use super::host::{HostEndpoint, MANAGER_ID};
use crate::child::{INHERITED_FD, Next, VmmChild};

/// A component.
#[derive(Debug)]
pub struct Member {
    /// Component id.
    pub id: u32,
    /// Name (`p0`).
    pub name: String,
    /// Its VMM (None once reaped).
    child: Option<VmmChild>,
    /// Which start of the component this is: messages from an earlier one are stale.
    serial: u64,
    sock: UnixDatagram,
    hello: Option<(PeerInfo, [OwnedFd; 3])>,
    /// Whether its VMM is running.
    pub alive: bool,
}

/// Something that happened to a member.
#[derive(Debug)]
pub enum MemberEvent {
    /// An event from its VMM.
    Vm(VmEvent),
    /// Its VMM exited (or was killed).
    Exited(Option<i32>),
}

enum Incoming {
    /// `(id, serial, ...)`: from the start `serial` of component `id`.
    Hello(u32, u64, PeerInfo, Vec<OwnedFd>),
    Revoked(u32, u64, u32),
    /// Something for whoever waits in [`Coordinator::next`] happened elsewhere.
    Ring,
}

/// Wakes whoever waits in [`Coordinator::next`]: every source of work for the managers' loop
/// (VMM events, control requests, load reports) rings it, so the loop sleeps until one does.
#[derive(Clone, Debug)]
pub struct Bell(mpsc::Sender<Incoming>);

impl Bell {
    /// Wakes the loop (it looks at everything, so one ring may stand for many events).
    pub fn ring(&self) {
        let _ = self.0.send(Incoming::Ring);
    }
}

/// The coordinator.
#[derive(Debug)]
pub struct Coordinator {
    members: Vec<Member>,
    incoming_tx: mpsc::Sender<Incoming>,
    incoming: mpsc::Receiver<Incoming>,
    /// The serial of the next start.
    next_serial: u64,
    /// The managers' own endpoint, if they are on the fabric, and its revocations.
    host: Option<(&'static HostEndpoint, mpsc::Receiver<u32>)>,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Incoming::Hello(id, serial, ..) => write!(f, "Hello({id}, start {serial})"),
            Incoming::Revoked(id, serial, k) => write!(f, "Revoked({id}, start {serial}, {k})"),
            Incoming::Ring => write!(f, "Ring"),
        }
    }
}

impl Default for Coordinator {
    fn default() -> Self {
        Self::new()
    }
}

impl Coordinator {
    /// No members yet.
    pub fn new() -> Coordinator {
        let (incoming_tx, incoming) = mpsc::channel();
        Coordinator {
            members: Vec::new(),
            incoming_tx,
            incoming,
            next_serial: 1,
            host: None,
        }
    }

    /// Puts the managers' endpoint on the fabric: every component is introduced to it.
    /// `revoked` carries the keys of MRs the endpoint withdraws.
    pub fn with_host(host: &'static HostEndpoint, revoked: mpsc::Receiver<u32>) -> Coordinator {
        let mut c = Coordinator::new();
        c.host = Some((host, revoked));
        c
    }

    /// A bell that wakes [`Coordinator::next`].
    pub fn bell(&self) -> Bell {
        Bell(self.incoming_tx.clone())
    }

    /// The pid of a component's VMM, while it runs.
    pub fn pid(&self, id: u32) -> Option<u32> {
        self.index(id)
            .and_then(|i| self.members[i].child.as_ref())
            .map(VmmChild::pid)
    }

    /// Starts a component: its VMM gets a socket to us and `fabric` settings.
    pub fn start(&mut self, mut cfg: VmConfig, mut fabric: FabricConfig) -> Result<u32> {
        let id = cfg.component_id;
        // A restart replaces the dead member of the same id.
        if let Some(i) = self.index(id) {
            if self.members[i].alive {
                anyhow::bail!("component {} is still running", self.members[i].name);
            }
            self.members.remove(i);
        }
        let (ours, theirs) = wire::seqpacket_pair().context("creating the fabric socket")?;
        fabric.coord_fd = INHERITED_FD;
        cfg.fabric = Some(fabric);
        let bell = self.bell();
        let child = VmmChild::spawn_with_fd(
            &cfg,
            Some(OwnedFd::from(theirs)),
            Some(Box::new(move || bell.ring())),
        )?;
        let reader = ours.try_clone().context("cloning the fabric socket")?;
        let tx = self.incoming_tx.clone();
        let serial = self.next_serial;
        self.next_serial += 1;
        std::thread::Builder::new()
            .name(format!("coord-{}", cfg.name))
            .spawn(move || {
                while let Ok(Some((msg, fds))) = wire::recv::<ToCoordinator>(&reader) {
                    let m = match msg {
                        ToCoordinator::Hello(info) => Incoming::Hello(id, serial, info, fds),
                        ToCoordinator::MrRevoked { rkey } => Incoming::Revoked(id, serial, rkey),
                    };
                    if tx.send(m).is_err() {
                        break;
                    }
                }
            })?;
        self.members.push(Member {
            id,
            name: cfg.name.clone(),
            child: Some(child),
            serial,
            sock: ours,
            hello: None,
            alive: true,
        });
        Ok(id)
    }

    fn index(&self, id: u32) -> Option<usize> {
        self.members.iter().position(|m| m.id == id)
    }

    /// The member that sent a message: the start `serial` of component `id`, if it still runs
    /// (a message queued by a VMM that died since, or by an earlier start, is stale).
    fn sender(&self, id: u32, serial: u64) -> Option<usize> {
        self.index(id)
            .filter(|&i| self.members[i].serial == serial && self.members[i].alive)
    }

    fn introduce(&self, to: usize, about: usize) {
        let (Some((info, fds)), true) = (&self.members[about].hello, self.members[to].alive) else {
            return;
        };
        let fds: [&dyn std::os::fd::AsRawFd; 3] = [&fds[0], &fds[1], &fds[2]];
        if let Err(e) = wire::send(&self.members[to].sock, &ToVmm::Peer(info.clone()), &fds) {
            tracing::warn!(
                "introducing {} to {}: {e}",
                self.members[about].name,
                self.members[to].name
            );
        }
    }

    fn broadcast(&self, except: usize, msg: &ToVmm) {
        for (i, m) in self.members.iter().enumerate() {
            if i != except && m.alive {
                let _ = wire::send(&m.sock, msg, &[]);
            }
        }
    }

    fn on_incoming(&mut self, m: Incoming) {
        match m {
            Incoming::Hello(id, serial, info, fds) => {
                let Some(i) = self.sender(id, serial) else {
                    tracing::debug!("a stale hello from {} ignored", info.name);
                    return;
                };
                let Ok(fds) = <[OwnedFd; 3]>::try_from(fds) else {
                    tracing::warn!(
                        "{} said hello without its 3 descriptors",
                        self.members[i].name
                    );
                    return;
                };
                if let Some((host, _)) = self.host {
                    let dups: std::io::Result<Vec<OwnedFd>> =
                        fds.iter().map(OwnedFd::try_clone).collect();
                    match dups.map(<[OwnedFd; 3]>::try_from) {
                        Ok(Ok(d)) => {
                            if let Err(e) = host.on_peer(info.clone(), d) {
                                tracing::warn!("the managers cannot attach {}: {e}", info.name);
                            }
                        }
                        _ => tracing::warn!(
                            "cannot share {}'s descriptors with the managers",
                            info.name
                        ),
                    }
                    if let Err(e) = wire::send(
                        &self.members[i].sock,
                        &ToVmm::Peer(host.info().clone()),
                        &host.fds(),
                    ) {
                        tracing::warn!("introducing the managers to {}: {e}", info.name);
                    }
                }
                self.members[i].hello = Some((info, fds));
                for j in 0..self.members.len() {
                    if j != i && self.members[j].alive && self.members[j].hello.is_some() {
                        self.introduce(j, i);
                        self.introduce(i, j);
                    }
                }
            }
            Incoming::Revoked(id, serial, rkey) => {
                let Some(i) = self.sender(id, serial) else {
                    return;
                };
                self.broadcast(i, &ToVmm::MrRevoked { id, rkey });
                if let Some((host, _)) = self.host {
                    host.on_revoked(id, rkey);
                }
            }
            // Seen by `next`.
            Incoming::Ring => {}
        }
    }

    /// Serves one message; true if it was the bell.
    fn take(&mut self, m: Incoming) -> bool {
        match m {
            Incoming::Ring => true,
            m => {
                self.on_incoming(m);
                false
            }
        }
    }

    /// Marks a member dead, tells the others, and lets go of its descriptors (its memory is
    /// freed once its peers let go too).
    fn on_exit(&mut self, i: usize) -> Option<i32> {
        let m = &mut self.members[i];
        m.alive = false;
        let incarnation = m.hello.take().map_or(0, |(info, _fds)| info.incarnation);
        let id = m.id;
        let code = m.child.take().and_then(VmmChild::wait);
        self.broadcast(i, &ToVmm::PeerDead { id, incarnation });
        if let Some((host, _)) = self.host {
            host.on_peer_dead(id);
        }
        code
    }

    /// Waits up to `timeout` for the next member event, serving introductions meanwhile;
    /// `None` at the timeout or once the [`Bell`] rang with no member event to show for it
    /// (the owner has something else to look at).
    pub fn next(&mut self, timeout: Duration) -> Option<(u32, MemberEvent)> {
        let deadline = Instant::now() + timeout;
        let mut rung = false;
        loop {
            while let Ok(m) = self.incoming.try_recv() {
                rung |= self.take(m);
            }
            let revoked: Vec<u32> = self
                .host
                .as_ref()
                .map(|(_, rx)| rx.try_iter().collect())
                .unwrap_or_default();
            for rkey in revoked {
                self.broadcast(
                    usize::MAX,
                    &ToVmm::MrRevoked {
                        id: MANAGER_ID,
                        rkey,
                    },
                );
            }
            for i in 0..self.members.len() {
                let Some(child) = self.members[i].child.as_ref() else {
                    continue;
                };
                match child.try_next() {
                    Next::Event(e) => return Some((self.members[i].id, MemberEvent::Vm(e))),
                    Next::Gone => {
                        let code = self.on_exit(i);
                        return Some((self.members[i].id, MemberEvent::Exited(code)));
                    }
                    Next::Timeout => {}
                }
            }
            if rung || Instant::now() >= deadline {
                return None;
            }
            // Until something arrives (a VMM's event rings after it is queued: the next pass
            // finds it) or the deadline.
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(m) = self.incoming.recv_timeout(left) {
                rung |= self.take(m);
            }
        }
    }

    /// Kills a component's VMM outright (a hardware failure). Its death is reported by `next`.
    pub fn kill(&mut self, id: u32) -> bool {
        match self.index(id).and_then(|i| self.members[i].child.as_mut()) {
            Some(c) => {
                c.kill();
                true
            }
            None => false,
        }
    }

    /// Stops every VMM (SIGTERM, then SIGKILL after `grace`) and reaps them.
    pub fn shutdown(&mut self, grace: Duration) {
        for m in &self.members {
            if let Some(c) = &m.child {
                c.terminate();
            }
        }
        for m in &mut self.members {
            if let Some(c) = m.child.take() {
                c.shutdown(grace);
            }
            m.alive = false;
        }
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_sleeps_until_the_bell_rings_and_returns_then() {
        let mut c = Coordinator::new();
        let t = Instant::now();
        assert!(c.next(Duration::from_millis(30)).is_none());
        assert!(
            t.elapsed() >= Duration::from_millis(30),
            "waited the timeout"
        );
        let bell = c.bell();
        let ringer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            bell.ring();
        });
        let t = Instant::now();
        assert!(c.next(Duration::from_secs(10)).is_none());
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(20) && waited < Duration::from_secs(5),
            "returned {waited:?} after it started, the bell rang after 20 ms"
        );
        ringer.join().expect("the ringer thread");
    }
}
