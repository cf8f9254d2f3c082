//! What the managers ask of the processes here: the table (`PS`, for `lego ps`) and a
//! signal for one process (`lego signal`; a `lego run`'s Ctrl-C goes to its whole session).

extern crate alloc;

use alloc::vec::Vec;

use guest_rt::rpc::Rpc;
use lego_linux::abi::sigframe::{SI_USER, Siginfo};
use lego_linux::signal as s;
use lego_proto::proc::{self as pp, PsEntry};
use lego_rpc::rpc::Deferred;
use zerocopy::IntoBytes;

use crate::process::{Process, RunState};

impl Process {
    /// Where it is, as `ps` and `/proc/PID/stat` say: `T` stopped, `Z` ended, `R` a thread
    /// runs or can, else `S`.
    pub fn state_letter(&self) -> char {
        if self.stopped.is_some() {
            'T'
        } else if self.done() {
            'Z'
        } else if self
            .thread_states()
            .any(|t| matches!(t, RunState::Runnable | RunState::OnCpu(_)))
        {
            'R'
        } else {
            'S'
        }
    }

    /// Bytes its vmas map.
    pub fn mapped_bytes(&self) -> u64 {
        self.vmas.values().map(|v| v.end - v.start).sum()
    }
}
use crate::service::Pmon;

/// The `PS` entry of `p`.
fn entry(p: &Process) -> PsEntry {
    let mut comm = [0u8; 16];
    let n = p.comm.len().min(15);
    comm[..n].copy_from_slice(&p.comm.as_bytes()[..n]);
    PsEntry {
        pid: p.pid,
        ppid: p.ppid,
        session: p.session,
        vnode: p.vnode.0,
        home: p.home,
        threads: 1 + p.threads.len() as u32,
        state: u32::from(p.state_letter()),
        _pad: 0,
        excache: p.excache.0,
        vm_bytes: p.mapped_bytes(),
        cpu_ns: p.c.user_ns + p.c.system_ns,
        comm,
    }
}

impl Pmon {
    /// Answers a deferred `PS`: every process here.
    pub(crate) fn answer_ps(&self, rpc: &mut Rpc, d: Deferred) {
        let mut out: Vec<u8> = Vec::new();
        for p in self.procs.iter().take(pp::MAX_PS) {
            out.extend_from_slice(entry(p).as_bytes());
        }
        rpc.reply(d, Ok(&out));
    }

    /// A signal from the managers: `SIGNAL_ONE` for the process (or thread) named, else for
    /// every process of the session it leads.
    pub(crate) fn signal_from_user(&mut self, pid: u32, sig: u32) {
        let one = sig & pp::SIGNAL_ONE != 0;
        let sig = sig & !pp::SIGNAL_ONE;
        if sig == 0 || sig > s::NSIG {
            return;
        }
        for p in self.procs.iter_mut().filter(|p| {
            if one {
                p.pid == pid || p.has_thread(pid)
            } else {
                p.pid == pid || p.session == pid
            }
        }) {
            p.send_signal(sig, Siginfo::user(sig, SI_USER, 0));
        }
    }
}
