//! `execve` from a running process: the arguments from its memory, `#!` scripts turned into
//! their interpreter's command line, the new image built by the home (which frees the old
//! one only once the new program proved loadable), and the process state Linux resets.

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use guest_rt::arch::fpu::FpuState;
use guest_rt::rpc::Rpc;
use lego_linux::children::shebang;
use lego_linux::errno::{self as e, Errno};
use lego_linux::signal as s;
use lego_proto::fs::{self as fsp, kind};
use lego_proto::mem::{MAX_EXEC_STRINGS, exec_flags};

use crate::process::Process;
use crate::syscall::fs::{fs_req, resolve, stat_path};
use crate::syscall::{USER_END, err, read_cstr, read_val};

/// Most `#!` interpreters in a row (Linux's `BINPRM_MAX_RECURSION`).
const MAX_INTERPRETERS: usize = 4;
/// Bytes of a `#!` line looked at (Linux's `BINPRM_BUF_SIZE`).
const SHEBANG_BYTES: usize = 256;
/// Most argument or environment strings.
const MAX_STRINGS: usize = 0x7fff_ffff / 8;
/// `execveat`'s `AT_EMPTY_PATH`.
const AT_EMPTY_PATH: u32 = 0x1000;

/// Appends the NUL-terminated strings of the user array at `va` (up to a NULL) to `out`;
/// returns how many. `E2BIG` past `MAX_EXEC_STRINGS` bytes in all.
fn read_strings(
    p: &mut Process,
    rpc: &mut Rpc,
    va: u64,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), Errno> {
    if va == 0 {
        return Ok(());
    }
    let mut total: usize = out.iter().map(|s| s.len() + 1).sum();
    for i in 0..MAX_STRINGS as u64 {
        let at = va.checked_add(i * 8).ok_or(e::EFAULT)?;
        let ptr: u64 = read_val(p, rpc, at)?;
        if ptr == 0 {
            return Ok(());
        }
        let s = match read_cstr(p, rpc, ptr, MAX_EXEC_STRINGS) {
            Ok(s) => s,
            Err(x) if x == e::ENAMETOOLONG => return Err(e::E2BIG),
            Err(x) => return Err(x),
        };
        total += s.len() + 1;
        if total > MAX_EXEC_STRINGS {
            return Err(e::E2BIG);
        }
        out.push(s);
    }
    Err(e::E2BIG)
}

fn joined(strings: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::new();
    for s in strings {
        b.extend_from_slice(s);
        b.push(0);
    }
    b
}

impl Process {
    /// `execve(path, argv, envp)` / `execveat(dirfd, path, argv, envp, flags)`.
    pub fn execve(
        &mut self,
        rpc: &mut Rpc,
        dirfd: i32,
        path_va: u64,
        argv_va: u64,
        envp_va: u64,
        flags: u32,
    ) -> i64 {
        if flags & !(AT_EMPTY_PATH | 0x100) != 0 {
            return err(e::EINVAL);
        }
        let mut path = match resolve(self, rpc, dirfd, path_va) {
            Ok(p) if p == "/proc/self/exe" => self.exe.clone(),
            Ok(p) => p,
            Err(x) => return x,
        };
        let mut argv: Vec<Vec<u8>> = Vec::new();
        let mut envp: Vec<Vec<u8>> = Vec::new();
        if let Err(x) = read_strings(self, rpc, argv_va, &mut argv)
            .and_then(|()| read_strings(self, rpc, envp_va, &mut envp))
        {
            return err(x);
        }
        // `#!`: the interpreter runs with the script's path as an argument (argv[0] goes).
        for level in 0..=MAX_INTERPRETERS {
            // Devices and pseudo-files are not programs (Linux: EACCES, not a regular file).
            if ["/dev/", "/proc/", "/sys/"]
                .iter()
                .any(|d| path.starts_with(d))
            {
                return err(e::EACCES);
            }
            let st = match stat_path(self, rpc, &path) {
                Ok(st) => st,
                Err(x) => return x,
            };
            if st.kind != kind::FILE || st.mode & 0o111 == 0 {
                return err(e::EACCES);
            }
            let mut head = [0u8; SHEBANG_BYTES];
            let n = match fs_req(
                self,
                rpc,
                fsp::READ,
                &path,
                "",
                0,
                SHEBANG_BYTES as u32,
                0,
                0,
                &[],
                &mut head,
            ) {
                Ok(n) => n,
                Err(x) => return x,
            };
            let Some((interp, arg)) = shebang(&head[..n.min(SHEBANG_BYTES)]) else {
                break;
            };
            if level == MAX_INTERPRETERS {
                return err(e::ELOOP);
            }
            let Ok(interp) = String::from_utf8(interp) else {
                return err(e::ENOEXEC);
            };
            let mut new = Vec::new();
            new.push(interp.clone().into_bytes());
            new.extend(arg);
            new.push(path.clone().into_bytes());
            new.extend(argv.into_iter().skip(1));
            argv = new;
            path = crate::syscall::fs::normalize(&self.cwd, &interp);
        }
        let (args, env) = (joined(&argv), joined(&envp));
        if path.len() + args.len() + env.len() > MAX_EXEC_STRINGS {
            return err(e::E2BIG);
        }
        // The old image's dirty lines go to their owners: if the new program does not load,
        // the process goes on with its memory intact.
        if !self.invalidate(rpc, 0, USER_END, true) {
            self.kill(s::SIGBUS, 0);
            return 0;
        }
        if let Err(x) = self.exec(rpc, &path, &args, &env, exec_flags::REPLACE) {
            if x.gone {
                // Linux's "point of no return": the process cannot go back.
                self.kill(s::SIGSEGV, 0);
                return 0;
            }
            return -i64::from(x.errno);
        }
        // The new program starts clean: its FPU, default handlers, no alternate stack, no
        // close-on-exec descriptors, and a vfork parent runs again.
        *self.fpu = FpuState::initial();
        self.sig.exec_reset();
        self.fds.close_on_exec();
        self.comm = crate::process::comm_of(&path);
        self.exe = path;
        self.vfork_parent = 0;
        self.execed = true;
        self.clear_tid = 0;
        // The other threads are gone with the old image; the one that exec'd becomes the
        // first thread, with the process's id (Linux's `de_thread`).
        crate::worker::recall(self.pid);
        self.threads.clear();
        self.tid = self.pid;
        self.robust_list = 0;
        self.futex = None;
        0
    }
}
