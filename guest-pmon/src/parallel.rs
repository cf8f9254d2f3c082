//! Threads in parallel: the boot CPU hands runnable threads to the idle workers
//! (`crate::worker`) and takes them back when they leave user code, handling the syscall,
//! fault or interrupt as if the thread had run here. A thread out on a worker is
//! `RunState::OnCpu`: nothing else runs it, and its registers and FPU area are the job's.

extern crate alloc;

use alloc::boxed::Box;

use guest_rt::arch::fpu::FpuState;
use guest_rt::arch::usermode::Exit;
use guest_rt::rpc::Rpc;
use guest_rt::time;

use crate::process::{Process, RunState, SLICE_NS};
use crate::service::Pmon;
use crate::worker::{self, Job};

impl Process {
    /// Hands the running thread to worker `cpu` (it must be runnable and ready,
    /// `prepare_entry`); `spare` takes the place of its FPU area meanwhile.
    pub fn make_job(&mut self, cpu: usize, spare: Box<FpuState>) -> Job {
        let fpu = core::mem::replace(&mut self.fpu, spare);
        self.state = RunState::OnCpu(cpu as u8);
        let mut slice_end = time::now_ns() + SLICE_NS;
        if self.itimer.0 != 0 {
            slice_end = slice_end.min(self.itimer.0);
        }
        Job {
            pid: self.pid,
            tid: self.tid,
            regs: self.regs,
            fpu,
            root: self.space.root(),
            user_cr3: self.space.user_cr3(),
            trampoline: self.trampoline(),
            running: self.space.running(),
            slice_end,
            exit: Exit::Interrupt { vector: 0 },
            user_ns: 0,
        }
    }
}

impl Pmon {
    /// Gives idle workers runnable threads, round robin over the processes; of a process, a
    /// thread that is not the running one first (so that its threads take turns on the
    /// workers too). One runnable thread is left for the boot CPU: a thread on a worker pays
    /// two CPU hand-overs per syscall or miss, which only parallelism makes worth it.
    pub(crate) fn hand_out(&mut self, rpc: &mut Rpc) {
        let n = self.procs.len();
        let mut runnable: usize = self
            .procs
            .iter()
            .filter(|p| p.stopped.is_none() && !p.done())
            .map(|p| {
                p.thread_states()
                    .filter(|s| *s == RunState::Runnable)
                    .count()
            })
            .sum();
        while runnable > 1
            && let Some(cpu) = worker::free_cpu()
        {
            runnable -= 1;
            let mut given = false;
            for k in 0..n {
                let i = (self.next_out + k) % n;
                let p = &mut self.procs[i];
                if p.stopped.is_some() || p.done() {
                    continue;
                }
                if let Some(t) = p.threads.iter().position(|t| t.state == RunState::Runnable) {
                    p.swap_thread(t);
                } else if p.state != RunState::Runnable {
                    continue;
                }
                if !p.prepare_entry(rpc, self.manager) {
                    if let Some(op) = p.op.take() {
                        self.serve_op(rpc, i, op);
                    }
                    self.procs[i].retire_thread();
                    continue;
                }
                let spare = self
                    .fpu_spares
                    .pop()
                    .unwrap_or_else(|| Box::new(FpuState::initial()));
                let job = self.procs[i].make_job(cpu, spare);
                worker::give(cpu, job);
                self.next_out = i + 1;
                given = true;
                break;
            }
            if !given {
                return;
            }
        }
    }

    /// Takes back the threads the workers are done with and handles how they left user code.
    pub(crate) fn collect(&mut self, rpc: &mut Rpc) {
        while let Some((cpu, job)) = worker::take_done() {
            let t1 = time::now_ns();
            let Some(i) = self
                .procs
                .iter()
                .position(|p| p.pid == job.pid && !p.done())
            else {
                // The process ended meanwhile.
                self.fpu_spares.push(job.fpu);
                continue;
            };
            let p = &mut self.procs[i];
            if p.tid != job.tid {
                match p.thread_index(job.tid) {
                    Some(k) => p.swap_thread(k),
                    None => {
                        self.fpu_spares.push(job.fpu);
                        continue;
                    }
                }
            }
            if p.state != RunState::OnCpu(cpu as u8) {
                // Not the thread that went out (an exec gave its id to another).
                self.fpu_spares.push(job.fpu);
                continue;
            }
            p.regs = job.regs;
            let spare = core::mem::replace(&mut p.fpu, job.fpu);
            self.fpu_spares.push(spare);
            p.state = RunState::Runnable;
            p.c.user_ns += job.user_ns;
            let before = p.c.system_ns;
            p.handle_exit(rpc, self.manager, job.exit, t1);
            p.cpu_ns += job.user_ns + (p.c.system_ns - before);
            if let Some(op) = p.op.take() {
                self.serve_op(rpc, i, op);
            }
            self.procs[i].retire_thread();
        }
    }
}
