//! `lego run`: a program on the cluster, with the user's stdin, stdout and stderr.

use std::io::{IsTerminal, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cli::{ExcachePolicy, RunArgs};
use crate::cluster::paths::ClusterDir;
use crate::cluster::protocol::{Request, request};
use crate::cluster::sessions::{RunRequest, frame, read_frame, send_frame};
use crate::exit;
use crate::files::client::FileOp;
use crate::size::{human, parse};

const QUICK: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(600);

/// Exit status when the program could not be started.
pub const NOT_EXECUTABLE: u8 = 126;
/// Exit status when PROG does not exist.
pub const NOT_FOUND: u8 = 127;

/// The last signal the user sent us (Ctrl-C, ...), for the program.
static PENDING_SIGNAL: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    PENDING_SIGNAL.store(sig as u32, Ordering::SeqCst);
}

fn file_op(name: &str, vnode: &str, op: FileOp) -> Result<Value> {
    let dir = ClusterDir::of(name);
    request(
        &dir,
        name,
        &Request::File {
            vnode: vnode.to_string(),
            op,
        },
        LONG,
    )
}

/// Makes sure a cluster runs (starting a default one with `--up`).
fn ensure_cluster(a: &RunArgs) -> Result<()> {
    let dir = ClusterDir::of(&a.cluster.name);
    if dir.socket().exists() {
        return Ok(());
    }
    if !a.up {
        bail!(
            "no cluster named `{0}` is running: start one with `lego up --name {0}` (or run with \
             `lego run --up`)",
            a.cluster.name
        );
    }
    let me = std::env::current_exe().context("finding the lego executable")?;
    let st = std::process::Command::new(me)
        .args(["up", "--name", &a.cluster.name])
        .stdout(std::process::Stdio::null())
        .status()
        .context("starting a cluster")?;
    if !st.success() {
        bail!("`lego up --name {}` failed", a.cluster.name);
    }
    Ok(())
}

/// Creates the vNode if it does not exist.
fn ensure_vnode(a: &RunArgs) -> Result<()> {
    let dir = ClusterDir::of(&a.cluster.name);
    let list = request(&dir, &a.cluster.name, &Request::VnodeList, QUICK)?;
    let exists = list
        .as_array()
        .is_some_and(|l| l.iter().any(|v| v["name"] == a.vnode.as_str()));
    if !exists {
        request(
            &dir,
            &a.cluster.name,
            &Request::VnodeCreate {
                name: Some(a.vnode.clone()),
                storage: None,
            },
            QUICK,
        )?;
    }
    Ok(())
}

/// Where PROG is in the vNode, copying a host file in when absent or changed.
fn program_path(a: &RunArgs) -> Result<std::result::Result<String, (u8, String)>> {
    let host = Path::new(&a.prog);
    if host.is_file() {
        let data = std::fs::read(host).with_context(|| format!("reading {}", host.display()))?;
        let crc = crc32fast::hash(&data);
        let base = host
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("prog")
            .to_string();
        let path = format!("/.lego/bin/{crc:08x}-{}/{base}", data.len());
        let st = file_op(
            &a.cluster.name,
            &a.vnode,
            FileOp::Stat { path: path.clone() },
        )?;
        // Same content, size and permission bits (execve in the vNode checks them).
        let mode = std::fs::metadata(host)
            .map(|m| u64::from(std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777))
            .ok();
        if st["kind"] != "file"
            || st["size"].as_u64() != Some(data.len() as u64)
            || st["mode"].as_u64() != mode
        {
            let local = std::path::absolute(host).context("making the path absolute")?;
            file_op(
                &a.cluster.name,
                &a.vnode,
                FileOp::Put {
                    local,
                    path: path.clone(),
                    parents: true,
                    no_fsync: false,
                },
            )
            .with_context(|| format!("copying {} into vNode {}", host.display(), a.vnode))?;
        }
        return Ok(Ok(path));
    }
    if let Some((vnode, path)) = a.prog.split_once(':')
        && !vnode.is_empty()
        && path.starts_with('/')
    {
        if vnode != a.vnode {
            bail!(
                "{} is in vNode {vnode}, but the program runs in {} (use --vnode {vnode})",
                a.prog,
                a.vnode
            );
        }
        let st = file_op(
            &a.cluster.name,
            &a.vnode,
            FileOp::Stat { path: path.into() },
        )?;
        if st["kind"] != "file" {
            return Ok(Err((NOT_FOUND, format!("{}: no such file", a.prog))));
        }
        return Ok(Ok(path.to_string()));
    }
    Ok(Err((
        NOT_FOUND,
        format!(
            "{}: no such file here (or VNODE:/PATH in the cluster)",
            a.prog
        ),
    )))
}

/// Runs the program.
pub fn run(a: &RunArgs) -> Result<u8> {
    ensure_cluster(a)?;
    ensure_vnode(a)?;
    let path = match program_path(a)? {
        Ok(p) => p,
        Err((code, msg)) => {
            eprintln!("lego run: {msg}");
            return Ok(code);
        }
    };
    let mut flags = 0;
    use lego_proto::proc::start_flags as sf;
    let tty_out = std::io::stdout().is_terminal();
    if std::io::stdin().is_terminal() {
        flags |= sf::STDIN_TTY;
    }
    if tty_out {
        flags |= sf::STDOUT_TTY;
    }
    if std::io::stderr().is_terminal() {
        flags |= sf::STDERR_TTY;
    }
    if a.no_piggyback {
        flags |= sf::NO_PIGGYBACK;
    }
    if a.trap_floor {
        flags |= sf::TRAP_FLOOR;
    }
    flags |= (a.fault_around.trailing_zeros() << sf::FAULT_AROUND_SHIFT) & sf::FAULT_AROUND_MASK;
    let mut env = vec![
        "PATH=/usr/local/bin:/usr/bin:/bin".to_string(),
        "HOME=/".to_string(),
    ];
    if tty_out && let Ok(t) = std::env::var("TERM") {
        env.push(format!("TERM={t}"));
    }
    for e in &a.env {
        if !e.contains('=') {
            bail!("--env {e}: expected K=V");
        }
        env.push(e.clone());
    }
    let (rows, cols) = winsize();
    let excache = match &a.excache {
        Some(s) => parse(s).map_err(anyhow::Error::msg).context("--excache")?,
        None => 0,
    };
    let mut args = vec![a.prog.clone()];
    args.extend(a.args.iter().cloned());
    let req = Request::Run(RunRequest {
        vnode: a.vnode.clone(),
        path,
        args,
        env,
        cwd: a.cwd.clone(),
        excache,
        ways: a.ways.unwrap_or(0),
        policy: match a.policy {
            ExcachePolicy::Fifo => "fifo",
            ExcachePolicy::Lru => "lru",
            ExcachePolicy::Random => "random",
        }
        .into(),
        flags,
        winsize: (rows, cols),
        on: a.on.clone(),
    });
    let dir = ClusterDir::of(&a.cluster.name);
    let mut s = UnixStream::connect(dir.socket()).with_context(|| {
        format!(
            "cannot reach the manager of cluster `{}` (is it running? `lego status`)",
            a.cluster.name
        )
    })?;
    let mut line = serde_json::to_string(&req)?;
    line.push('\n');
    s.write_all(line.as_bytes())
        .context("sending the request")?;
    let mut reply = Vec::new();
    let mut b = [0u8; 1];
    while s.read(&mut b).context("reading the answer")? == 1 {
        if b[0] == b'\n' {
            break;
        }
        reply.push(b[0]);
    }
    let v: Value = serde_json::from_slice(&reply).context("garbled answer from the manager")?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        bail!("{e}");
    }
    stream(s, a)
}

fn winsize() -> (u16, u16) {
    let mut w: libc::winsize = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the struct we pass; on a non-terminal it fails and leaves it.
    let r = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut w) };
    if r == 0 { (w.ws_row, w.ws_col) } else { (0, 0) }
}

/// Moves the streams until the program ends; returns the exit status.
fn stream(s: UnixStream, a: &RunArgs) -> Result<u8> {
    // SAFETY: a handler that only stores into an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let mut to_mgr = s.try_clone().context("socket")?;
    let stdin_sock = s.try_clone().context("socket")?;
    std::thread::spawn(move || {
        let mut w = stdin_sock;
        let mut buf = vec![0u8; 64 << 10];
        let mut input = std::io::stdin().lock();
        loop {
            match input.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = send_frame(&mut w, frame::STDIN_EOF, &[]);
                    return;
                }
                Ok(n) => {
                    if send_frame(&mut w, frame::STDIN, &buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let (tx, rx) = mpsc::channel();
    let mut reader = s;
    std::thread::spawn(move || {
        while let Some(f) = read_frame(&mut reader) {
            let end = f.0 == frame::END;
            if tx.send(f).is_err() || end {
                return;
            }
        }
    });
    let mut out = std::io::stdout();
    let mut stdout_ok = true;
    loop {
        let sig = PENDING_SIGNAL.swap(0, Ordering::SeqCst);
        if sig != 0 {
            let _ = send_frame(&mut to_mgr, frame::SIGNAL, &sig.to_le_bytes());
        }
        let (kind, data) = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(f) => f,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                bail!("the manager closed the connection before the program ended");
            }
        };
        match kind {
            frame::STDOUT
                if stdout_ok && out.write_all(&data).and_then(|()| out.flush()).is_err() =>
            {
                stdout_ok = false;
                let _ = send_frame(&mut to_mgr, frame::STDOUT_CLOSED, &[]);
            }
            frame::STDERR => {
                let mut e = std::io::stderr();
                let _ = e.write_all(&data);
                let _ = e.flush();
            }
            frame::END => {
                let v: Value = serde_json::from_slice(&data).context("garbled end")?;
                return Ok(finish(&v, a));
            }
            _ => {}
        }
    }
}

/// Reports the end; the exit status.
fn finish(v: &Value, a: &RunArgs) -> u8 {
    let code = v["code"].as_u64().unwrap_or(1) as u32;
    let msg = v["message"].as_str().unwrap_or("");
    let status = match v["how"].as_str() {
        Some("exited") => (code & 0xff) as u8,
        Some("signaled") => {
            if code != 13 && code != 2 {
                eprintln!("{msg}");
            }
            128u8.saturating_add(code as u8)
        }
        _ => {
            eprintln!("lego run: {msg}");
            match code {
                2 => NOT_FOUND,
                8 | 7 | 12 | 22 => NOT_EXECUTABLE,
                _ => exit::ERROR,
            }
        }
    };
    if a.stats {
        print_stats(&v["stats"]);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    }
    status
}

fn print_stats(s: &Value) {
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    let ms = |k: &str| n(k) as f64 / 1e6;
    let us = |k: &str| n(k) as f64 / 1e3;
    eprintln!("--- lego run statistics");
    eprintln!(
        "time        wall {:.1} ms, user {:.1} ms, monitor {:.1} ms",
        ms("wall_ns"),
        ms("user_ns"),
        ms("system_ns")
    );
    eprintln!(
        "ExCache     {} in {} ways: {} misses, {} p-local fills ({} around first touches), {} hits on cached lines",
        human(n("excache_bytes")),
        n("ways"),
        n("misses"),
        n("plocal_fills"),
        n("fault_around"),
        n("hits")
    );
    eprintln!(
        "            {} evictions, {} flushes ({} piggybacked), {} TLB flushes",
        n("evictions"),
        n("flushes"),
        n("piggybacks"),
        n("tlb_flushes")
    );
    eprintln!(
        "miss        p50 {:.1} us, p99 {:.1} us",
        us("miss_p50_ns"),
        us("miss_p99_ns")
    );
    if let Some(owners) = s["owners"].as_array() {
        for o in owners {
            eprintln!(
                "memory      {}: {} fetched, {} flushed",
                o["owner"].as_str().unwrap_or("?"),
                human(o["fetched"].as_u64().unwrap_or(0)),
                human(o["flushed"].as_u64().unwrap_or(0))
            );
        }
    }
    if let Some(calls) = s["by_syscall"].as_object() {
        let mut v: Vec<(&String, u64)> = calls
            .iter()
            .map(|(k, c)| (k, c.as_u64().unwrap_or(0)))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let list: Vec<String> = v.iter().map(|(k, c)| format!("{k} {c}")).collect();
        eprintln!("syscalls    {} in all: {}", n("syscalls"), list.join(", "));
    }
    eprintln!("interrupts  {}", n("interrupts"));
}
