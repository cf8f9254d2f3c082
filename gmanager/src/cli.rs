//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use lego_abi::Role;

use crate::size;

/// LegoOS on KVM: a splitkernel with processor, memory and storage components, each a small
/// guest on this machine.
#[derive(Debug, Parser)]
#[command(
    name = "lego",
    version,
    after_help = "Exit codes: 0 success, 1 error, 2 usage error, 3 a guest faulted, \
                  4 a guest crashed or timed out.\n\
                  Environment: LEGO_KVM_DEVICE (default /dev/kvm), LEGO_LOG (tracing filter, e.g. debug)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Boot one monitor standalone, wait until it is ready, print a report, shut it down.
    ///
    /// The guest runs the role's monitor image on its own KVM VMM process, brings up every
    /// vCPU, measures the same calibration loop in kernel mode (CPL0) and user mode (CPL3),
    /// and reports ready; then it powers off. Exit status 0 means every step worked.
    Boot(BootArgs),
    /// Benchmarks, each against its baseline in the same run.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Start a cluster: one VMM per component, connected on the fabric, with its manager in the
    /// background. Returns once every component is ready.
    ///
    /// Without counts or a spec, starts 1 pComponent, 2 mComponents and 1 sComponent. A spec
    /// file (TOML) may set `name`, `poll`, `spin_us`, `net_latency_ns`, `net_bandwidth_mbps`,
    /// sections `[pmon]`, `[mmon]`, `[smon]` with `count`, `mem`, `vcpus` (and `excache` for
    /// pmon), and `[[component]]` entries with `name`, `role`, `mem`, `vcpus`, `excache`.
    /// Command-line options override the spec.
    Up(UpArgs),
    /// Show a cluster's components, their state and load, the managers' next placements.
    Status(StatusArgs),
    /// Show a component's console log.
    Logs(LogsArgs),
    /// List the cluster's processes: pid, parent, `lego run` session, pComponent, vNode, home
    /// mComponent, threads, state, ExCache, mapped memory, CPU time, name.
    Ps(StatusArgs),
    /// Send a signal to one process: `lego signal 105 TERM` (a number or a name, with or
    /// without SIG).
    Signal(SignalArgs),
    /// Kill a component's VMM outright (a hardware failure); returns once it is seen failed.
    Kill(ComponentArgs),
    /// Start a failed or killed component again; returns once it is ready.
    Restart(ComponentArgs),
    /// Stop a cluster and remove everything it left: processes, sockets, runtime files. Its
    /// durable state (disk images, vNodes) stays for the next `lego up` of that name unless
    /// --wipe.
    Down(DownArgs),
    /// Create, list and remove vNodes (the user-visible nodes programs run on).
    #[command(subcommand)]
    Vnode(VnodeCommand),
    /// Copy a local file into a vNode: `lego put data.bin web:/data/` (`-r`: a directory tree).
    /// Returns once the file is durable on the vNode's sComponent (written through its
    /// mComponent's buffer cache, then fsync'ed). Each file is copied all or nothing: it is
    /// written under a temporary name (`.NAME.lego-tmp-XXXXXXXX`) and renamed into place once
    /// durable, so a failed put leaves what was there before.
    Put(PutArgs),
    /// Copy a file out of a vNode: `lego get web:/data/data.bin ./copy.bin` (`-r`: a directory
    /// tree). Each file is written to a temporary file next to its destination and renamed
    /// over it once complete, so a failed get leaves the destination as it was.
    Get(GetArgs),
    /// List a vNode directory (or show one file): `lego ls web:/data`.
    Ls(LsArgs),
    /// Remove a file or an empty directory from a vNode (`-r`: a whole tree).
    Rm(RmArgs),
    /// Make a directory in a vNode (`-p`: with its parents).
    Mkdir(MkdirArgs),
    /// Rename a file or a directory in a vNode: `lego mv web:/a /b`.
    Mv(MvArgs),
    /// Make a file's data durable on its sComponent's disk (after `put --no-fsync`).
    Sync(SyncArgs),
    /// Run an unmodified static x86-64 Linux program on the cluster: `lego run ./prog args`.
    ///
    /// The program runs on a pComponent (the one with the fewest threads) with a small ExCache;
    /// its memory lives on the mComponents (its home picked by the memory manager, its 1 GiB
    /// vRegions spread over all of them). PROG is a file on this machine, copied into the
    /// vNode (under /.lego/bin/, by content) when absent or changed, or VNODE:PATH already
    /// there. The program's stdin, stdout and stderr are yours, streamed while it runs; its
    /// exit status is lego's, and death by a signal is 128 + the signal with a one-line message
    /// on stderr, as a shell does. Ctrl-C sends it SIGINT.
    ///
    /// Exit status: the program's; 126 if it could not be started (not a static x86-64 ELF,
    /// too large); 127 if PROG does not exist; 1 for other errors (no cluster, a component
    /// failed: the message says which).
    Run(RunArgs),
    /// Internal: the manager process of one cluster (what `lego up` starts).
    #[command(hide = true, name = "cluster-daemon")]
    ClusterDaemon(ClusterDaemonArgs),
    /// Start a few components on a fabric and run the fabric self-tests between them.
    ///
    /// Each --component is ROLE[:WORDS], WORDS being guest command-line words such as
    /// `test_regions=1` (register test regions), `selftest=rpc peer=0` (run the RPC and one-sided
    /// tests against component 0), `selftest=timeout peer=0`, `selftest=failover peer=1,2` (call
    /// 1 and 2, have 1 killed, check calls to it fail and 2 keeps answering). Component ids are
    /// positions in the list. Every component connects to all others.
    FabricTest(FabricTestArgs),
    /// Internal: run one VMM (what `lego` starts per component).
    #[command(hide = true)]
    Vmm(VmmArgs),
    /// Internal: the peer process of the host RPC baselines.
    #[command(hide = true, name = "pingpong-child")]
    PingpongChild(PingPongChildArgs),
}

/// How fabric receivers wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PollArg {
    /// Poll forever (lowest latency, a core per waiting vCPU).
    Busy,
    /// Poll briefly, then sleep until a doorbell.
    Adaptive,
    /// Always sleep until a doorbell.
    Interrupt,
}

impl From<PollArg> for virtio_rdma::abi::PollMode {
    fn from(p: PollArg) -> Self {
        match p {
            PollArg::Busy => virtio_rdma::abi::PollMode::Busy,
            PollArg::Adaptive => virtio_rdma::abi::PollMode::Adaptive,
            PollArg::Interrupt => virtio_rdma::abi::PollMode::Interrupt,
        }
    }
}

/// Fabric settings shared by the commands that start fabrics.
#[derive(Debug, Args, Clone)]
pub struct FabricArgs {
    /// How receivers wait for messages.
    #[arg(long, value_enum, default_value = "adaptive")]
    pub poll: PollArg,
    /// Adaptive mode: microseconds of polling before sleeping.
    #[arg(long, default_value_t = 50, value_name = "US")]
    pub spin_us: u32,
    /// Network model: one-way latency added per message, in ns (0: off).
    #[arg(long, default_value_t = 0, value_name = "NS")]
    pub net_latency_ns: u32,
    /// Network model: link bandwidth in Mbit/s (0: unlimited).
    #[arg(long, default_value_t = 0, value_name = "MBPS")]
    pub net_bandwidth_mbps: u32,
}

/// `lego fabric-test`.
#[derive(Debug, Args)]
pub struct FabricTestArgs {
    /// A component: ROLE[:WORDS] (repeat; at least two).
    #[arg(long = "component", required = true, value_name = "ROLE[:WORDS]")]
    pub components: Vec<String>,
    /// Guest memory of every component (default: the role's).
    #[arg(long, value_parser = size::parse, value_name = "SIZE")]
    pub mem: Option<u64>,
    /// Seconds to wait for all results.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
    /// Show the guests' consoles on stderr.
    #[arg(long)]
    pub console: bool,
    /// Print results as JSON lines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fabric: FabricArgs,
    #[command(flatten)]
    pub kvm: KvmArgs,
}

/// `lego pingpong-child` (internal).
#[derive(Debug, Args)]
pub struct PingPongChildArgs {
    /// Transport to serve.
    #[arg(long, value_enum)]
    pub transport: crate::baseline::Transport,
    /// Inherited descriptor carrying the socket or memfd.
    #[arg(long)]
    pub fd: i32,
    /// Message size, bytes.
    #[arg(long)]
    pub size: usize,
}

/// Roles on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Processor component (process monitor, ExCache).
    Pmon,
    /// Memory component (memory monitor).
    Mmon,
    /// Storage component (storage monitor).
    Smon,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Pmon => Role::Pmon,
            RoleArg::Mmon => Role::Mmon,
            RoleArg::Smon => Role::Smon,
        }
    }
}

/// Faults a guest can be asked to take, to test fault reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FaultArg {
    /// Read an unmapped address in the monitor (#PF).
    Pagefault,
    /// Execute an invalid instruction (#UD).
    Ud,
    /// Panic in the monitor.
    Panic,
}

impl FaultArg {
    /// The guest command-line value.
    pub fn guest_name(self) -> &'static str {
        match self {
            FaultArg::Pagefault => "pagefault",
            FaultArg::Ud => "ud",
            FaultArg::Panic => "panic",
        }
    }
}

/// Options shared by everything that starts guests.
#[derive(Debug, Args, Clone)]
pub struct KvmArgs {
    /// The KVM device to use.
    #[arg(
        long,
        env = "LEGO_KVM_DEVICE",
        default_value = "/dev/kvm",
        value_name = "PATH"
    )]
    pub kvm_device: PathBuf,
}

/// `lego boot`.
#[derive(Debug, Args)]
pub struct BootArgs {
    /// Which monitor to boot.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Guest memory (e.g. 256M, 2G). Default: pmon 256M, mmon 2G, smon 128M.
    #[arg(long, value_parser = size::parse, value_name = "SIZE")]
    pub mem: Option<u64>,
    /// vCPUs. Default: pmon 2, mmon 1, smon 1.
    #[arg(long, value_name = "N")]
    pub vcpus: Option<u32>,
    /// ExCache size, pmon only (default 64M).
    #[arg(long, value_parser = size::parse, value_name = "SIZE")]
    pub excache: Option<u64>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Do not show the guest's console on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Boot this ELF image instead of the built-in monitor image.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Make the guest fault on purpose after boot (tests fault reporting).
    #[arg(long, value_enum, value_name = "KIND")]
    pub inject_fault: Option<FaultArg>,
    /// Attach this disk image (a file whose size is a multiple of 4096) as a virtio-blk device.
    #[arg(long, value_name = "FILE")]
    pub disk: Option<PathBuf>,
    /// Open the --disk image with O_DIRECT (I/O bypasses the host's page cache).
    #[arg(long, requires = "disk")]
    pub disk_direct: bool,
    /// Extra guest command-line words, e.g. "blk_selftest=write blk_blocks=1024".
    #[arg(long, value_name = "WORDS", allow_hyphen_values = true)]
    pub cmdline: Option<String>,
    /// Iterations of the calibration loop (each run at CPL0 and CPL3, best of 3).
    #[arg(long, default_value_t = 400_000, value_name = "N")]
    pub calib_iters: u64,
    /// Seconds to wait for the guest to become ready.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    #[command(flatten)]
    pub kvm: KvmArgs,
}

/// `lego bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Boot each role N times: ready time (p50/p99) and the VMM's host memory overhead, next to
    /// the host's floor (an empty KVM VM from process start to its first exit).
    Boot(BenchBootArgs),
    /// RPC round trips (64 B, 4 KiB), one-sided 4 KiB READ and throughput with 1 and 4
    /// requests outstanding between two component guests, for each polling mode, next to two
    /// host processes ping-ponging over shared memory and over a Unix-domain socket.
    Rpc(BenchRpcArgs),
    /// Time from `lego up` to every component ready, and host memory per component, for a
    /// 1P2M1S cluster and a 16-component one, next to as many empty VMs started at once.
    Up(BenchUpArgs),
    /// The paper's Figure 9: sequential and random 4 KiB reads through an empty buffer cache,
    /// and 4 KiB writes each followed by an fsync, next to the same on a host file (reads
    /// O_DIRECT, writes fdatasync); then where our time went (hops, components, disk); then
    /// the same issued by the mComponent itself (the cache and storage path without the
    /// client's hop).
    Storage(BenchStorageArgs),
    /// The paper's Figure 8: the cost of an ExCache miss per page (p50/p99): the
    /// pComponent's trap floor (a page fault that maps a frame already there, no fabric), a
    /// p-local fill, a read miss fetched from the mComponent, write misses whose dirty victim
    /// is flushed piggybacked or apart, and a syscall, each with isolation on and off, next to
    /// the host's own fault on a fresh anonymous page and its own syscall. Prints each miss
    /// over the trap floor (the part we own). Compiles its program with gcc -static.
    Miss(BenchMissArgs),
    /// A CPU-bound program with no misses on a pComponent against the same binary native.
    Run(BenchRunArgs),
    /// The Linux ABI's basic costs on a pComponent next to the host's (p50/p99): a syscall
    /// round trip (getpid), fork + exec + wait of a static program, pipe throughput; with
    /// the platform's trap floor beside them. Compiles its program with gcc -static.
    Abi(BenchAbiArgs),
}

/// `lego bench abi`.
#[derive(Debug, Args)]
pub struct BenchAbiArgs {
    /// getpid calls timed.
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub syscalls: u64,
    /// fork + exec + wait rounds timed.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub forks: u64,
    /// MiB sent through the pipe.
    #[arg(long, default_value_t = 32, value_name = "MIB")]
    pub pipe_mib: u64,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lego bench miss`.
#[derive(Debug, Args)]
pub struct BenchMissArgs {
    /// Pages touched per measurement (four times as many for the misses, through a 2 MiB
    /// ExCache).
    #[arg(long, default_value_t = 2048, value_name = "N")]
    pub pages: u64,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lego bench run`.
#[derive(Debug, Args)]
pub struct BenchRunArgs {
    /// Steps of the loop.
    #[arg(long, default_value_t = 1_000_000_000, value_name = "N")]
    pub iters: u64,
    /// Runs of each (alternating native and pComponent).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub runs: u32,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lego bench storage`.
#[derive(Debug, Args)]
pub struct BenchStorageArgs {
    /// Operations per measurement.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub ops: u32,
    /// Size of the test file.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub file_mib: u64,
    /// Seed of the random offsets.
    #[arg(long, default_value_t = 9)]
    pub seed: u64,
    /// Read the sComponent's disk through the host's page cache instead of with O_DIRECT.
    #[arg(long)]
    pub buffered: bool,
    /// How the components wait for messages (default: the cluster default, adaptive).
    #[arg(long, value_enum)]
    pub poll: Option<PollArg>,
    /// Adaptive polling: microseconds of polling before sleeping.
    #[arg(long, value_name = "US")]
    pub spin_us: Option<u32>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lego bench up`.
#[derive(Debug, Args)]
pub struct BenchUpArgs {
    /// Clusters brought up per shape.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub runs: usize,
    /// Only the 1P2M1S cluster.
    #[arg(long)]
    pub small_only: bool,
    /// Seconds to wait for a cluster to be ready.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lego bench rpc`.
#[derive(Debug, Args)]
pub struct BenchRpcArgs {
    /// Round trips measured per latency figure.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub iters: usize,
    /// Polling modes to measure (default: busy, adaptive, interrupt).
    #[arg(long = "modes", value_enum, value_delimiter = ',')]
    pub modes: Vec<PollArg>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fabric: FabricArgs,
    #[command(flatten)]
    pub kvm: KvmArgs,
}

/// `lego bench boot`.
#[derive(Debug, Args)]
pub struct BenchBootArgs {
    /// Boots per role.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub runs: usize,
    /// Roles to measure (default: all three).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub role: Vec<RoleArg>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub kvm: KvmArgs,
}

/// `lego vmm` (internal).
#[derive(Debug, Args)]
pub struct VmmArgs {
    /// The guest's configuration, as JSON.
    #[arg(long, required_unless_present = "floor")]
    pub config: Option<String>,
    /// Instead of a guest, run the smallest VM possible to its first exit (the boot floor).
    #[arg(long)]
    pub floor: bool,
    #[command(flatten)]
    pub kvm: KvmArgs,
}

/// Which cluster.
#[derive(Debug, Args, Clone)]
pub struct ClusterArg {
    /// The cluster's name.
    #[arg(
        long = "name",
        short = 'n',
        env = "LEGO_CLUSTER",
        default_value = "default",
        value_name = "NAME"
    )]
    pub name: String,
}

/// `lego up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The cluster's name (default: the spec's, else `default`).
    #[arg(long = "name", short = 'n', env = "LEGO_CLUSTER", value_name = "NAME")]
    pub name: Option<String>,
    /// A cluster spec file (TOML).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<std::path::PathBuf>,
    /// pComponents (default 1, or the spec's count).
    #[arg(long = "pmon", short = 'p', value_name = "N")]
    pub pmon: Option<u32>,
    /// mComponents (default 2, or the spec's count).
    #[arg(long = "mmon", short = 'm', value_name = "N")]
    pub mmon: Option<u32>,
    /// sComponents (default 1, or the spec's count).
    #[arg(long = "smon", short = 's', value_name = "N")]
    pub smon: Option<u32>,
    /// Memory of each pComponent.
    #[arg(long, value_parser = size::parse, value_name = "SIZE")]
    pub pmon_mem: Option<u64>,
    /// Memory of each mComponent.
    #[arg(long, value_parser = size::parse, value_name = "SIZE")]
    pub mmon_mem: Option<u64>,
    /// Memory of each sComponent.
    #[arg(long, value_parser = size::parse, value_name = "SIZE")]
    pub smon_mem: Option<u64>,
    /// vCPUs of each pComponent.
    #[arg(long, value_name = "N")]
    pub pmon_vcpus: Option<u32>,
    /// vCPUs of each mComponent.
    #[arg(long, value_name = "N")]
    pub mmon_vcpus: Option<u32>,
    /// vCPUs of each sComponent.
    #[arg(long, value_name = "N")]
    pub smon_vcpus: Option<u32>,
    /// ExCache of each pComponent.
    #[arg(long, value_parser = size::parse, value_name = "SIZE")]
    pub excache: Option<u64>,
    /// Disk image of each sComponent (default 1G, sparse; kept across `lego down`). Only for
    /// new images: an existing image of another size is an error (disks are not resized).
    #[arg(long, value_parser = size::parse, value_name = "SIZE")]
    pub smon_disk: Option<u64>,
    /// Buffer cache of each mComponent (default: an eighth of its memory, at most 1G).
    #[arg(long, value_parser = size::parse, value_name = "SIZE")]
    pub mmon_cache: Option<u64>,
    /// Disks like real hardware: reads reach the host's device (O_DIRECT, no host page cache);
    /// writes are cached by the host like a disk's write cache until the guest flushes
    /// (fdatasync).
    #[arg(long)]
    pub disk_direct: bool,
    /// Run programs on page tables that map the monitors too (no isolation): only to measure
    /// what isolation costs (`lego bench miss` does). By default a program cannot read or
    /// write its pComponent's memory.
    #[arg(long)]
    pub no_isolation: bool,
    /// How receivers wait (default: adaptive).
    #[arg(long, value_enum)]
    pub poll: Option<PollArg>,
    /// Adaptive mode: microseconds of polling before sleeping (default 50).
    #[arg(long, value_name = "US")]
    pub spin_us: Option<u32>,
    /// Network model: one-way latency per message, ns.
    #[arg(long, value_name = "NS")]
    pub net_latency_ns: Option<u32>,
    /// Network model: bandwidth, Mbit/s.
    #[arg(long, value_name = "MBPS")]
    pub net_bandwidth_mbps: Option<u32>,
    /// Seconds to wait for every component to be ready.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// Start even if this cluster, with every other running one, promises more guest memory
    /// than the host has (guests then compete for it as they use it; the host may run out).
    #[arg(long)]
    pub overcommit: bool,
    /// Print the cluster's status as JSON.
    #[arg(long)]
    pub json: bool,
    /// Extra guest command-line words for one component, `NAME:WORDS` (for testing, e.g.
    /// `m1:debug_hang_ms=500` makes m1 hang half a second after it starts serving).
    #[arg(long = "guest-args", hide = true, value_name = "NAME:WORDS")]
    pub guest_args: Vec<String>,
}

/// `lego status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lego logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// The component (p0, m1, ...).
    pub component: String,
    /// Keep printing new lines (a restart shows as a `--- NAME start N ---` line).
    #[arg(long, short)]
    pub follow: bool,
}

/// `lego signal`.
#[derive(Debug, Args)]
pub struct SignalArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// The process (`lego ps` lists them).
    pub pid: u32,
    /// The signal: a number or a name (`TERM`, `SIGKILL`, `USR1`, `RTMIN+2`).
    pub signal: String,
}

/// `lego kill` / `lego restart`.
#[derive(Debug, Args)]
pub struct ComponentArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// The component (p0, m1, ...).
    pub component: String,
    /// Print the cluster's status as JSON afterwards.
    #[arg(long)]
    pub json: bool,
}

/// `lego vnode ...`.
#[derive(Debug, Subcommand)]
pub enum VnodeCommand {
    /// Create a vNode: an id, a virtual IP, and storage on an sComponent (the storage
    /// manager's pick unless --storage names one).
    Create(VnodeCreateArgs),
    /// List vNodes.
    List(StatusArgs),
    /// Remove a vNode.
    Remove(VnodeRemoveArgs),
}

/// `lego vnode create`.
#[derive(Debug, Args)]
pub struct VnodeCreateArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// Its name (default vnode<ID>).
    #[arg(value_name = "VNODE")]
    pub vnode_name: Option<String>,
    /// The sComponent to hold its storage.
    #[arg(long, value_name = "COMPONENT")]
    pub storage: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lego vnode remove`.
#[derive(Debug, Args)]
pub struct VnodeRemoveArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// The vNode (name or id).
    pub vnode: String,
}

/// `lego down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// Also delete the cluster's durable state: its sComponents' disk images and its vNodes.
    #[arg(long)]
    pub wipe: bool,
}

/// `lego put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// The local file (with -r: directory).
    pub local: PathBuf,
    /// Where: VNODE:PATH (into the directory if PATH is one).
    pub remote: String,
    /// Copy a directory and everything in it (symbolic links are followed; other special
    /// files are skipped and counted).
    #[arg(long, short)]
    pub recursive: bool,
    /// With -r: files copied at once.
    #[arg(long, short, default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Create missing parent directories.
    #[arg(long, short)]
    pub parents: bool,
    /// Return once the data is in the buffer cache, without waiting for it to be durable
    /// (`lego sync` later makes it so).
    #[arg(long)]
    pub no_fsync: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// ExCache replacement policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExcachePolicy {
    /// First in, first out (the paper's best).
    Fifo,
    /// Least recently used (by faults seen).
    Lru,
    /// Random.
    Random,
}

/// Parses `--fault-around`: a power of two from 1 to 16.
fn fault_around_pages(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n @ (1 | 2 | 4 | 8 | 16)) => Ok(n),
        _ => Err(format!("{s:?} is not 1, 2, 4, 8 or 16")),
    }
}

/// `lego run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// The vNode the program runs in and whose files it sees (created on first use).
    #[arg(long, default_value = "default", value_name = "VNODE")]
    pub vnode: String,
    /// ExCache size for this run (default: half of the pComponent's reserved ExCache).
    #[arg(long, value_name = "SIZE")]
    pub excache: Option<String>,
    /// ExCache associativity (default 64, LegoOS's).
    #[arg(long, value_name = "N")]
    pub ways: Option<u32>,
    /// ExCache replacement policy.
    #[arg(long, value_enum, default_value_t = ExcachePolicy::Fifo)]
    pub policy: ExcachePolicy,
    /// Print the run's statistics on stderr at the end (ExCache misses, p-local fills,
    /// evictions, flushes, miss latency, bytes per mComponent, syscalls by name).
    #[arg(long)]
    pub stats: bool,
    /// Print the run's end and statistics as JSON on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Add K=V to the program's environment (repeatable). The default environment is clean:
    /// PATH, HOME=/ and, on a terminal, TERM.
    #[arg(long = "env", short = 'e', value_name = "K=V")]
    pub env: Vec<String>,
    /// The working directory in the vNode.
    #[arg(long, default_value = "/", value_name = "PATH")]
    pub cwd: String,
    /// Run on this pComponent instead of the one GPM picks.
    #[arg(long, value_name = "PCOMPONENT")]
    pub on: Option<String>,
    /// Start a default cluster first if none is running.
    #[arg(long)]
    pub up: bool,
    /// Pages zero-filled and mapped per first touch of anonymous memory: the touched page's
    /// aligned group of N (1, 2, 4, 8 or 16). Its untouched, unmapped neighbours are mapped
    /// clean in the same trap, so a program filling fresh memory traps once per N pages; 1 is
    /// the paper's ExCache (one line per miss).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = fault_around_pages)]
    pub fault_around: u32,
    /// Measurement only: dirty victims are never carried on miss requests.
    #[arg(long, hide = true)]
    pub no_piggyback: bool,
    /// Measurement only: first touches of anonymous memory map a frame of a zeroed pool (the
    /// pComponent's trap floor: no ExCache, no fabric).
    #[arg(long, hide = true)]
    pub trap_floor: bool,
    /// The program: a file here, or VNODE:PATH.
    pub prog: String,
    /// Its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// `lego sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// VNODE:PATH of the file to make durable.
    pub remote: String,
}

/// `lego get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// VNODE:PATH of the file (with -r: directory).
    pub remote: String,
    /// The local file (into the directory if it is one).
    pub local: PathBuf,
    /// Copy a directory and everything in it (incomplete copies left by failed puts are
    /// skipped and counted).
    #[arg(long, short)]
    pub recursive: bool,
    /// With -r: files copied at once.
    #[arg(long, short, default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lego ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// VNODE:PATH (`web:` is the root).
    pub remote: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lego rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// VNODE:PATH.
    pub remote: String,
    /// Remove directories and everything in them.
    #[arg(long, short)]
    pub recursive: bool,
    /// With -r, allow `VNODE:/`: remove everything in the vNode.
    #[arg(long, requires = "recursive")]
    pub no_preserve_root: bool,
}

/// `lego mkdir`.
#[derive(Debug, Args)]
pub struct MkdirArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// VNODE:PATH.
    pub remote: String,
    /// Create missing parents; an existing directory is not an error.
    #[arg(long, short)]
    pub parents: bool,
}

/// `lego mv`.
#[derive(Debug, Args)]
pub struct MvArgs {
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// VNODE:PATH of the file or directory (a directory moves with everything in it).
    pub from: String,
    /// Its new path in the same vNode (an existing file is replaced by a file, an existing
    /// empty directory by a directory); `/dir/`: into that directory, under the same name.
    pub to: String,
}

/// `lego cluster-daemon` (internal).
#[derive(Debug, Args)]
pub struct ClusterDaemonArgs {
    /// The resolved cluster spec, as JSON.
    #[arg(long)]
    pub spec_json: String,
}
