//! A guest VM: built from a [`VmConfig`], run until it powers off, faults, crashes or is asked to
//! stop.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::os::fd::FromRawFd;
use std::os::unix::net::UnixDatagram;

use kvm_bindings::{
    KVM_MAX_CPUID_ENTRIES, KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET, kvm_device_attr,
};
use kvm_ioctls::{Kvm, VcpuFd, VmFd};
use lego_abi::boot::{BootInfo, DeviceDesc};
use lego_abi::layout::{BOOT_GDT_GPA, BOOT_INFO_GPA, DEVICE_GPA_BASE, FABRIC_VECTOR, phys_to_virt};
use lego_abi::virtio_blk::BLK_DEVICE_GPA;
use lego_abi::virtio_mmio::MMIO_SIZE;
use virtio_rdma::backend::wire::PeerInfo;
use vm_memory::{Bytes, GuestAddress};
use zerocopy::IntoBytes;

use crate::boot::{elf, gdt, paging, plan, regs};
use crate::config::{ConsoleTarget, VmConfig, round_mem};
use crate::devices::Bus;
use crate::devices::blk::BlkDevice;
use crate::devices::console::Console;
use crate::devices::rdma::RdmaDevice;
use crate::devices::virtio_mmio::MmioTransport;
use crate::error::{Error, ImageProblem, Result};
use crate::events::VmEvent;
use crate::fabric::{self, Fabric};
use crate::kvm;
use crate::memory::GuestMem;
use crate::vcpu::{self, Shared};

/// Set by the stop-signal handler; polled by [`Vm::run`].
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks a running [`Vm::run`] in this process to stop (async-signal-safe).
pub fn request_stop() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether this process was asked to stop (an orderly shutdown is under way).
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// How many console lines are kept to show after a failure.
const KEPT_LINES: usize = 40;

/// A guest, built and ready to run.
pub struct Vm {
    // Field order matters for drop: vCPUs and the VM go before the memory they use.
    vcpus: Vec<VcpuFd>,
    fabric: Option<Arc<Fabric>>,
    _vm: Arc<VmFd>,
    _kvm: Kvm,
    mem: Arc<GuestMem>,
    shared: Arc<Shared>,
    events: mpsc::Receiver<VmEvent>,
    excache: (u64, u64),
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("vcpus", &self.vcpus.len())
            .field("mem", &self.mem.size())
            .finish()
    }
}

fn image_name(cfg: &VmConfig) -> String {
    match &cfg.image {
        Some(p) => p.display().to_string(),
        None => format!("(built-in {})", cfg.role.name()),
    }
}

fn image_error(cfg: &VmConfig, problem: ImageProblem) -> Error {
    Error::Image {
        name: image_name(cfg),
        problem,
    }
}

/// The image bytes: the file named in the config, or the role's built-in image.
fn read_image(cfg: &VmConfig) -> Result<std::borrow::Cow<'static, [u8]>> {
    let Some(path) = &cfg.image else {
        return Ok(std::borrow::Cow::Borrowed(images::for_role(cfg.role)));
    };
    std::fs::read(path)
        .map(std::borrow::Cow::Owned)
        .map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => e.to_string(),
            };
            image_error(cfg, ImageProblem::Unreadable(why))
        })
}

fn console_sink(cfg: &VmConfig) -> Result<(String, Box<dyn Write + Send>)> {
    Ok(match &cfg.console {
        ConsoleTarget::Stderr => (format!("[{}] ", cfg.name), Box::new(std::io::stderr())),
        ConsoleTarget::Discard => (String::new(), Box::new(std::io::sink())),
        ConsoleTarget::File(p) => {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| Error::Io {
                    op: "opening the console log",
                    source: e,
                })?;
            (String::new(), Box::new(f))
        }
    })
}

impl Vm {
    /// Builds the VM: checks the image and the request, creates memory, loads the image, writes
    /// page tables, GDT and boot info, creates the vCPUs at their start state.
    pub fn create(cfg: &VmConfig, started: Instant) -> Result<Vm> {
        let image = read_image(cfg)?;
        let info = elf::inspect(&image).map_err(|p| image_error(cfg, p))?;
        let kvm = kvm::open(&cfg.kvm_device)?;
        cfg.validate(kvm::max_vcpus(&kvm))?;
        let disk = cfg.disk.as_ref().map(crate::disk::open).transpose()?;
        let mem_bytes = round_mem(cfg.mem_bytes);
        let excache_bytes = round_mem(cfg.excache_bytes);
        let plan = plan::plan(mem_bytes, cfg.vcpus, info.phys_end, excache_bytes)?;

        let vm = Arc::new(kvm.create_vm().map_err(Error::kvm("create VM"))?);
        vm.set_tss_address(0xfffb_d000)
            .map_err(Error::kvm("set TSS address"))?;
        vm.create_irq_chip().map_err(Error::kvm("create irqchip"))?;
        let mem = Arc::new(GuestMem::new(&cfg.name, mem_bytes)?);
        mem.register(&vm)?;
        elf::load(mem.mem(), &image).map_err(|p| image_error(cfg, p))?;

        let gm = mem.mem();
        let write = |bytes: &[u8], gpa: u64| {
            gm.write_slice(bytes, GuestAddress(gpa))
                .map_err(|e| Error::Memory(format!("writing boot data at {gpa:#x}: {e}")))
        };
        let tables = paging::build(mem_bytes);
        for (pa, t) in &tables.pages {
            write(t.as_bytes(), *pa)?;
        }
        write(gdt::boot_gdt().as_bytes(), BOOT_GDT_GPA)?;

        let cpuid = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(Error::kvm("get supported cpuid"))?;
        let mut vcpus = Vec::with_capacity(cfg.vcpus as usize);
        for i in 0..cfg.vcpus {
            let v = vm
                .create_vcpu(u64::from(i))
                .map_err(Error::kvm("create vCPU"))?;
            let start = regs::Start {
                index: i,
                entry: info.entry,
                stack_top: phys_to_virt(plan.stacks + u64::from(i + 1) * plan.stack_size),
                boot_info: phys_to_virt(BOOT_INFO_GPA),
                cr3: tables.cr3,
            };
            regs::setup(&v, &cpuid, &start)?;
            vcpus.push(v);
        }
        // Guests share the host's TSC so timestamps compare across them (the network model
        // needs that); best effort, reported to the guest.
        let tsc_is_host = vcpus.iter().all(zero_tsc_offset);
        let tsc_khz = vcpus
            .first()
            .and_then(|v| v.get_tsc_khz().ok())
            .unwrap_or(0);

        let mut bi = BootInfo::new(cfg.role, cfg.component_id, cfg.vcpus, mem_bytes);
        bi.set_flags(cfg.flags);
        bi.set_tsc_khz(u64::from(tsc_khz));
        bi.set_console(plan.console, plan.console_len);
        bi.set_stacks(plan.stacks, plan.stack_size);
        bi.set_excache(plan.excache.0, plan.excache.1);
        for r in &plan.regions {
            if !bi.push_region(*r) {
                return Err(Error::Memory("memory map has too many regions".into()));
            }
        }
        if !bi.set_cmdline(&cfg.cmdline) {
            return Err(crate::error::ConfigError::CmdlineTooLong(cfg.cmdline.len()).into());
        }

        let mut bus = Bus::default();
        let mut fabric_link = None;
        if let Some(fc) = &cfg.fabric {
            let sock = coordinator_socket(fc.coord_fd)?;
            let link = sock.try_clone().map_err(|e| Error::Io {
                op: "cloning the fabric socket",
                source: e,
            })?;
            let info = PeerInfo {
                id: cfg.component_id,
                name: cfg.name.clone(),
                role: cfg.role as u32,
                mem_bytes,
                incarnation: fc.incarnation,
            };
            let mem_file = mem.file().try_clone().map_err(|e| Error::Io {
                op: "sharing guest memory",
                source: e,
            })?;
            let f = Arc::new(Fabric::new(
                info,
                vm.clone(),
                gm.clone(),
                mem_file,
                plan.peer_table,
                sock,
                fc,
                tsc_is_host,
            )?);
            bus.insert(
                DEVICE_GPA_BASE,
                MMIO_SIZE,
                Box::new(MmioTransport::new(RdmaDevice::new(f.clone()), gm.clone())),
            );
            bi.push_device(DeviceDesc {
                device_id: virtio_rdma::abi::DEVICE_ID,
                irq_vector: u32::from(FABRIC_VECTOR),
                mmio_gpa: DEVICE_GPA_BASE,
            });
            fabric_link = Some((f, link));
        }
        if let Some(disk) = disk {
            bus.insert(
                BLK_DEVICE_GPA,
                MMIO_SIZE,
                Box::new(MmioTransport::new(BlkDevice::new(disk), gm.clone())),
            );
            if !bi.push_device(DeviceDesc {
                device_id: lego_abi::virtio_blk::DEVICE_ID,
                irq_vector: 0,
                mmio_gpa: BLK_DEVICE_GPA,
            }) {
                return Err(Error::Memory("boot info: too many devices".into()));
            }
        }
        write(bi.as_bytes(), BOOT_INFO_GPA)?;

        let (prefix, sink) = console_sink(cfg)?;
        let console = Console::new(
            gm.clone(),
            plan.console,
            plan.console_len,
            prefix,
            sink,
            KEPT_LINES,
        );
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            mem: gm.clone(),
            console: Mutex::new(console),
            stop: AtomicBool::new(false),
            events: Mutex::new(tx),
            started,
            bus,
        });
        let fabric = match fabric_link {
            Some((f, link)) => {
                f.hello()?;
                fabric::spawn_link(f.clone(), link).map_err(|e| Error::Io {
                    op: "starting the fabric link",
                    source: e,
                })?;
                Some(f)
            }
            None => None,
        };
        Ok(Vm {
            vcpus,
            fabric,
            _vm: vm,
            _kvm: kvm,
            mem,
            shared,
            events: rx,
            excache: plan.excache,
        })
    }

    /// The guest memory.
    pub fn memory(&self) -> &Arc<GuestMem> {
        &self.mem
    }

    /// The fabric endpoint, if the guest is in a fabric.
    pub fn fabric(&self) -> Option<&Arc<Fabric>> {
        self.fabric.as_ref()
    }

    /// Runs the guest. Every event goes to `on_event`; returns the terminal one.
    pub fn run(mut self, mut on_event: impl FnMut(&VmEvent)) -> VmEvent {
        install_kick_handler();
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        for (i, v) in self.vcpus.drain(..).enumerate() {
            let sh = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("vcpu{i}"))
                .spawn(move || vcpu::run(v, i as u32, sh));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    let ev = VmEvent::Crash {
                        reason: format!("cannot start vCPU thread {i}: {e}"),
                    };
                    stop_threads(&self.shared, threads);
                    on_event(&ev);
                    return ev;
                }
            }
        }
        let terminal = loop {
            match self.events.recv_timeout(Duration::from_millis(20)) {
                Ok(e) => {
                    if matches!(e, VmEvent::Ready(_)) {
                        self.populate_excache();
                    }
                    on_event(&e);
                    if e.is_terminal() {
                        break e;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if STOP_REQUESTED.load(Ordering::SeqCst) {
                        let e = VmEvent::Stopped;
                        on_event(&e);
                        break e;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let e = VmEvent::Crash {
                        reason: "all vCPU threads ended".into(),
                    };
                    on_event(&e);
                    break e;
                }
            }
        };
        stop_threads(&self.shared, threads);
        if let Ok(mut c) = self.shared.console.lock() {
            c.finish();
        }
        terminal
    }

    /// Pre-faults the ExCache frames on the host, in the background, once the guest is ready: a
    /// populated first touch costs ~2.5 us instead of ~15 us (PLATFORM.md), and doing it during
    /// boot would compete with the vCPUs for the host's cores (as it would, at normal priority,
    /// with other components still booting).
    fn populate_excache(&self) {
        let (gpa, len) = self.excache;
        if len == 0 {
            return;
        }
        let mem = self.mem.clone();
        let _ = std::thread::Builder::new()
            .name("excache-populate".into())
            .spawn(move || {
                // SCHED_IDLE: only spare cycles. When many components boot at once on few
                // cores, populating at normal priority delays the others' boots by hundreds
                // of ms.
                let param = libc::sched_param { sched_priority: 0 };
                // SAFETY: sched_setscheduler on the calling thread (pid 0) with a valid
                // parameter; lowering one's own policy needs no privilege.
                unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
                // In 2 MiB steps, so a vCPU that wakes never waits behind a long fault-in.
                const STEP: u64 = 2 << 20;
                let mut at = gpa;
                while at < gpa + len {
                    let n = STEP.min(gpa + len - at);
                    if let Err(e) = mem.populate(at, n) {
                        tracing::warn!("could not pre-populate the ExCache: {e}");
                        return;
                    }
                    at += n;
                    std::thread::yield_now();
                }
            });
    }

    /// The last console lines (for error messages).
    pub fn console_tail(&self) -> Vec<String> {
        self.shared
            .console
            .lock()
            .map(|c| c.kept().to_vec())
            .unwrap_or_default()
    }
}

/// Takes the inherited coordinator socket, checking the descriptor is really open.
fn coordinator_socket(fd: i32) -> Result<UnixDatagram> {
    // SAFETY: F_GETFD only inspects the descriptor table.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Error::Io {
            op: "opening the coordinator socket",
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("descriptor {fd} is not open"),
            ),
        });
    }
    // SAFETY: the descriptor is open and was handed to this process for this purpose only; we
    // take ownership of it.
    Ok(unsafe { UnixDatagram::from_raw_fd(fd) })
}

// kvm-ioctls only offers vCPU device attributes on aarch64; the x86 TSC-offset attribute
// (Linux 5.16+) uses the same ioctl.
vmm_sys_util::ioctl_iow_nr!(
    KVM_SET_DEVICE_ATTR,
    kvm_bindings::KVMIO,
    0xe1,
    kvm_device_attr
);

/// Makes the vCPU's TSC read the host's (KVM_VCPU_TSC_OFFSET = 0).
fn zero_tsc_offset(v: &VcpuFd) -> bool {
    let offset: u64 = 0;
    let attr = kvm_device_attr {
        group: KVM_VCPU_TSC_CTRL,
        attr: u64::from(KVM_VCPU_TSC_OFFSET),
        addr: &raw const offset as u64,
        flags: 0,
    };
    // SAFETY: KVM_SET_DEVICE_ATTR on a vCPU descriptor with a valid attribute whose `addr`
    // points at a live u64; the kernel only reads it.
    let r = unsafe { vmm_sys_util::ioctl::ioctl_with_ref(v, KVM_SET_DEVICE_ATTR(), &attr) };
    r == 0
}

fn kick_signal() -> i32 {
    libc::SIGRTMIN()
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

/// Makes SIGTERM and SIGINT stop a running [`Vm::run`] cleanly (the guest is stopped, the
/// console flushed, a `Stopped` event emitted).
pub fn install_stop_handlers() {
    extern "C" fn on_stop(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
        request_stop();
    }
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let _ = vmm_sys_util::signal::register_signal_handler(sig, on_stop);
    }
}

fn install_kick_handler() {
    // Without a handler the signal would kill the process; with an empty one it only makes
    // KVM_RUN return EINTR.
    let _ = vmm_sys_util::signal::register_signal_handler(kick_signal(), on_kick);
}

/// Stops the vCPU threads: raise the flag, then signal each thread until it has left KVM_RUN
/// (a signal that lands just before KVM_RUN is missed, so it is repeated).
fn stop_threads(sh: &Shared, threads: Vec<JoinHandle<()>>) {
    sh.stop.store(true, Ordering::Release);
    for t in threads {
        while !t.is_finished() {
            // SAFETY: the thread is alive (not finished, not joined), so its pthread_t is valid.
            unsafe { libc::pthread_kill(t.as_pthread_t(), kick_signal()) };
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = t.join();
    }
}
