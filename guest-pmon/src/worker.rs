//! The other vCPUs of a pComponent run user threads in parallel with the boot CPU. Each has a
//! slot: the boot CPU puts a thread's registers and FPU area there (a [`Job`]), the worker runs
//! it until it leaves user code (a syscall, a fault, an interrupt, its slice's end) and hands
//! it back. Everything else (syscalls, misses, signals, the fabric) stays on the boot CPU, so
//! the monitor's state has one owner and needs no locks; a worker touches only its slot and
//! the thread's page table, which it marks itself as running (`UserSpace::running`): a TLB
//! flush on the boot CPU then kicks it out of user code first (`UserSpace::shootdown`).

extern crate alloc;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use guest_rt::arch::fpu::FpuState;
use guest_rt::arch::pause;
use guest_rt::arch::usermode::{self, Exit, Resume, UserRegs};
use guest_rt::mm::phys_to_virt;
use guest_rt::mm::space::{UserSpace, enter_running, leave_running};
use guest_rt::{arch, platform, smp, time};
use lego_abi::boot::MAX_CPUS;

use crate::process::TRAMPOLINE_VA;

/// A thread handed to a worker.
pub struct Job {
    /// Whose: the process and the thread.
    pub pid: u32,
    /// The thread.
    pub tid: u32,
    /// Its registers (in and out).
    pub regs: UserRegs,
    /// Its x87/SSE area (the job owns it while out).
    pub fpu: Box<FpuState>,
    /// Its page table's root, loaded without isolation.
    pub root: u64,
    /// The user root with isolation (0: none).
    pub user_cr3: u64,
    /// The process's trampoline frame.
    pub trampoline: u64,
    /// The CPUs running the page table (`UserSpace::running`).
    pub running: Arc<AtomicU64>,
    /// When the slice ends (`time::now_ns`).
    pub slice_end: u64,
    /// How it left user code (out).
    pub exit: Exit,
    /// Time in user code, ns (out).
    pub user_ns: u64,
}

const FREE: u32 = 0;
const GIVEN: u32 = 1;
const DONE: u32 = 2;

struct Slot {
    state: AtomicU32,
    /// Halted, waiting for a job: the boot CPU kicks it.
    sleeping: AtomicBool,
    /// The process of the job given (for `recall`, which must not read the job).
    pid: AtomicU32,
    job: UnsafeCell<Option<Job>>,
}

// SAFETY: `job` belongs to the boot CPU while the state is FREE or DONE and to the worker
// while it is GIVEN; the state's release/acquire stores hand it over.
unsafe impl Sync for Slot {}

static SLOTS: [Slot; MAX_CPUS] = [const {
    Slot {
        state: AtomicU32::new(FREE),
        sleeping: AtomicBool::new(false),
        pid: AtomicU32::new(0),
        job: UnsafeCell::new(None),
    }
}; MAX_CPUS];

/// The CPUs that run the worker loop.
static WORKERS: AtomicU64 = AtomicU64::new(0);

/// How long an idle worker polls its slot before it halts (a halt and its wake-up cost an
/// exit each on PVM; jobs come back to back while threads compute).
const SPIN_NS: u64 = 200_000;

/// The CPUs that run workers, as a mask.
pub fn workers() -> u64 {
    WORKERS.load(Ordering::Acquire)
}

/// A worker CPU with nothing to run, if any.
pub fn free_cpu() -> Option<usize> {
    let w = workers();
    (1..MAX_CPUS).find(|&c| w & (1 << c) != 0 && SLOTS[c].state.load(Ordering::Acquire) == FREE)
}

/// Hands `job` to the free worker `cpu`.
pub fn give(cpu: usize, job: Job) {
    let s = &SLOTS[cpu];
    s.pid.store(job.pid, Ordering::Relaxed);
    // SAFETY: the slot is FREE: its job is the boot CPU's until the store below.
    unsafe { *s.job.get() = Some(job) };
    s.state.store(GIVEN, Ordering::SeqCst);
    if s.sleeping.load(Ordering::SeqCst) {
        smp::kick(cpu);
    }
}

/// A job a worker finished, and its CPU (free again).
pub fn take_done() -> Option<(usize, Job)> {
    for (cpu, s) in SLOTS.iter().enumerate().skip(1) {
        if s.state.load(Ordering::Acquire) == DONE {
            // SAFETY: DONE: the worker is through with the job.
            let job = unsafe { (*s.job.get()).take() };
            s.state.store(FREE, Ordering::Release);
            if let Some(j) = job {
                return Some((cpu, j));
            }
        }
    }
    None
}

/// Whether some worker finished a job not taken yet.
pub fn any_done() -> bool {
    SLOTS
        .iter()
        .any(|s| s.state.load(Ordering::Acquire) == DONE)
}

/// Makes the workers running threads of `pid` stop (they leave user code at once) and waits
/// until they have: before its threads or its page table go.
pub fn recall(pid: u32) {
    for (cpu, s) in SLOTS.iter().enumerate().skip(1) {
        if s.state.load(Ordering::Acquire) != GIVEN || s.pid.load(Ordering::Relaxed) != pid {
            continue;
        }
        smp::kick(cpu);
        while s.state.load(Ordering::Acquire) == GIVEN {
            pause();
        }
    }
}

/// Interrupts the worker `cpu` (a signal for the thread it runs): the job comes back.
pub fn kick(cpu: usize) {
    if cpu > 0 && cpu < MAX_CPUS && SLOTS[cpu].state.load(Ordering::Acquire) == GIVEN {
        smp::kick(cpu);
    }
}

/// A worker CPU's life.
pub fn main(cpu: usize) -> ! {
    let s = &SLOTS[cpu];
    WORKERS.fetch_or(1 << cpu, Ordering::AcqRel);
    loop {
        wait_for_job(s);
        // SAFETY: GIVEN: the job is this CPU's until it stores DONE.
        if let Some(job) = unsafe { (*s.job.get()).as_mut() } {
            run(job, cpu);
        }
        s.state.store(DONE, Ordering::SeqCst);
        // The boot CPU handles the exit (it may be in user code or halted).
        smp::kick(0);
    }
}

fn wait_for_job(s: &Slot) {
    let give_up = time::now_ns() + SPIN_NS;
    while s.state.load(Ordering::Acquire) != GIVEN {
        if time::now_ns() < give_up {
            pause();
            continue;
        }
        // Interrupts stay off until the halt: a kick after the check below ends it.
        let irq = platform::irq_save();
        s.sleeping.store(true, Ordering::SeqCst);
        if s.state.load(Ordering::SeqCst) != GIVEN {
            platform::halt_until_interrupt();
        }
        s.sleeping.store(false, Ordering::SeqCst);
        platform::irq_restore(irq);
    }
}

fn run(job: &mut Job, cpu: usize) {
    // Marked before the table is loaded: a flush on the boot CPU after this sees the mark.
    enter_running(&job.running);
    if job.user_cr3 == 0 {
        // SAFETY: the root maps the monitor's upper half unchanged; loading it also flushes
        // this CPU's user entries, which a shootdown relies on.
        unsafe {
            core::arch::asm!("mov cr3, {}", in(reg) job.root, options(nostack, preserves_flags))
        };
    }
    job.fpu.restore();
    let now = time::now_ns();
    time::arm_wakeup(arch::rdtsc() + time::ns_to_ticks(job.slice_end.saturating_sub(now)));
    let resume = Resume::Trampoline {
        code_va: TRAMPOLINE_VA + (cpu * usermode::TRAMPOLINE_STRIDE) as u64,
        data_va: phys_to_virt(job.trampoline) as u64 + usermode::trampoline_data_offset(cpu) as u64,
    };
    job.exit = usermode::enter(&mut job.regs, resume, job.user_cr3);
    job.user_ns = time::now_ns() - now;
    job.fpu.save();
    if job.user_cr3 == 0 {
        // Off the process's table before it may be freed.
        UserSpace::deactivate();
    }
    leave_running(&job.running);
}
