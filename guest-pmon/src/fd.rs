//! A process's file descriptors: the Linux state the pComponent keeps for files (LegoOS keeps
//! it at P too), with the files themselves in the vNode's storage behind a stateless protocol.
//!
//! A descriptor points at an open file description (offset, access, status flags) that `dup`
//! shares; close-on-exec belongs to the descriptor.

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::Mutex;

use crate::pipe::PipeEnd;

/// Most descriptors a process may have open (`RLIMIT_NOFILE`'s usual soft limit).
pub const MAX_FDS: usize = 1024;
/// Flags that only matter when a file is opened (`O_CREAT`, `O_EXCL`, `O_NOCTTY`, `O_TRUNC`,
/// `O_CLOEXEC`): `F_GETFL` does not show them.
const OPEN_ONLY: u32 = 0o100 | 0o200 | 0o400 | 0o1000 | 0o2000000;

/// What a descriptor refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The user's stdin (through the managers).
    Stdin,
    /// The user's stdout or stderr (1 or 2).
    Output(u32),
    /// `/dev/null`.
    Null,
    /// `/dev/zero`.
    Zero,
    /// `/dev/full`.
    Full,
    /// `/dev/urandom` or `/dev/random`.
    Random,
    /// A regular file of the vNode.
    File(String),
    /// A directory of the vNode; `next` is the listing's cursor.
    Dir {
        /// Its path.
        path: String,
        /// Entry index to ask for next (`lego_proto::fs::DIR_END` at the end).
        next: u64,
    },
    /// One end of a pipe.
    Pipe(PipeEnd),
    /// An eventfd.
    Event(crate::eventfd::EventFd),
    /// A `/proc` or `/sys` file: its text as it was when opened (`crate::procfs`).
    Pseudo(alloc::sync::Arc<Vec<u8>>),
}

/// An open file description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// What it is.
    pub target: Target,
    /// The offset.
    pub offset: u64,
    /// Opened for reading.
    pub read: bool,
    /// Opened for writing.
    pub write: bool,
    /// `O_APPEND`.
    pub append: bool,
    /// The access mode and status flags (`F_GETFL`).
    pub flags: u32,
}

impl Open {
    /// A description of `target` with the access of `flags`.
    pub fn new(target: Target, flags: u32) -> Open {
        let acc = flags & 3;
        Open {
            target,
            offset: 0,
            read: acc == 0 || acc == 2,
            write: acc == 1 || acc == 2,
            append: flags & 0o2000 != 0,
            flags: flags & !OPEN_ONLY,
        }
    }

    /// `O_NONBLOCK`.
    pub fn nonblocking(&self) -> bool {
        self.flags & 0o4000 != 0
    }
}

/// An open file description, shared by the descriptors `dup` made.
pub type Desc = Arc<Mutex<Open>>;

#[derive(Debug)]
struct Slot {
    desc: Desc,
    cloexec: bool,
}

/// The table.
#[derive(Debug)]
pub struct FdTable {
    fds: BTreeMap<i32, Slot>,
    /// Descriptors are below this (`RLIMIT_NOFILE`, at most [`MAX_FDS`]).
    limit: usize,
}

impl Default for FdTable {
    fn default() -> FdTable {
        FdTable {
            fds: BTreeMap::new(),
            limit: MAX_FDS,
        }
    }
}

impl FdTable {
    /// Stdin, stdout, stderr.
    pub fn standard() -> FdTable {
        let mut t = FdTable::default();
        t.insert(Open::new(Target::Stdin, 0));
        t.insert(Open::new(Target::Output(1), 1));
        t.insert(Open::new(Target::Output(2), 1));
        t
    }

    /// Sets the descriptor limit (`RLIMIT_NOFILE`): new descriptors stay below it (those
    /// already above it stay open, as on Linux).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(MAX_FDS);
    }

    /// The descriptor limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The lowest free descriptor at or above `from`; `None` if the table is full.
    fn free_from(&self, from: i32) -> Option<i32> {
        if self.fds.len() >= MAX_FDS {
            return None;
        }
        let mut fd = from.max(0);
        while self.fds.contains_key(&fd) {
            fd += 1;
        }
        ((fd as usize) < self.limit).then_some(fd)
    }

    /// A new description `o` at the lowest free descriptor; `None` if the table is full.
    pub fn insert(&mut self, o: Open) -> Option<i32> {
        self.insert_desc(0, Arc::new(Mutex::new(o)), false)
    }

    /// A new description, close-on-exec if `cloexec`.
    pub fn insert_cloexec(&mut self, o: Open, cloexec: bool) -> Option<i32> {
        self.insert_desc(0, Arc::new(Mutex::new(o)), cloexec)
    }

    fn insert_desc(&mut self, from: i32, desc: Desc, cloexec: bool) -> Option<i32> {
        let fd = self.free_from(from)?;
        self.fds.insert(fd, Slot { desc, cloexec });
        Some(fd)
    }

    /// `dup`, `dup2`, `dup3`, `F_DUPFD`: `old`'s description at `new` (replacing what was
    /// there) or at the lowest free descriptor from `min`. `Err(true)`: `old` is not open or
    /// `new` is out of range (`EBADF`); `Err(false)`: the table is full (`EMFILE`).
    pub fn dup(
        &mut self,
        old: i32,
        new: Option<i32>,
        min: i32,
        cloexec: bool,
    ) -> Result<i32, bool> {
        let desc = self.fds.get(&old).ok_or(true)?.desc.clone();
        match new {
            Some(n) if n < 0 || n as usize >= self.limit => Err(true),
            Some(n) => {
                self.fds.insert(n, Slot { desc, cloexec });
                Ok(n)
            }
            None if min < 0 || min as usize >= self.limit => Err(true),
            None => self.insert_desc(min, desc, cloexec).ok_or(false),
        }
    }

    /// The description of `fd`.
    pub fn get(&self, fd: i32) -> Option<Desc> {
        self.fds.get(&fd).map(|s| s.desc.clone())
    }

    /// A copy of the description of `fd` as it is now.
    pub fn open(&self, fd: i32) -> Option<Open> {
        self.fds.get(&fd).map(|s| s.desc.lock().clone())
    }

    /// The open descriptors, in order.
    pub fn numbers(&self) -> Vec<i32> {
        self.fds.keys().copied().collect()
    }

    /// The paths of the files open here (each once).
    pub fn file_paths(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for s in self.fds.values() {
            if let Target::File(path) = &s.desc.lock().target
                && !v.contains(path)
            {
                v.push(path.clone());
            }
        }
        v
    }

    /// What `fd` refers to.
    pub fn target(&self, fd: i32) -> Option<Target> {
        self.fds.get(&fd).map(|s| s.desc.lock().target.clone())
    }

    /// Changes the description of `fd` (if open).
    pub fn update(&self, fd: i32, f: impl FnOnce(&mut Open)) {
        if let Some(s) = self.fds.get(&fd) {
            f(&mut s.desc.lock());
        }
    }

    /// Whether `fd` is open.
    pub fn contains(&self, fd: i32) -> bool {
        self.fds.contains_key(&fd)
    }

    /// `fd`'s close-on-exec flag.
    pub fn cloexec(&self, fd: i32) -> Option<bool> {
        self.fds.get(&fd).map(|s| s.cloexec)
    }

    /// Sets `fd`'s close-on-exec flag; `false` if it is not open.
    pub fn set_cloexec(&mut self, fd: i32, on: bool) -> bool {
        match self.fds.get_mut(&fd) {
            Some(s) => {
                s.cloexec = on;
                true
            }
            None => false,
        }
    }

    /// Closes `fd`; `false` if it was not open.
    pub fn close(&mut self, fd: i32) -> bool {
        self.fds.remove(&fd).is_some()
    }

    /// `close_range(lo, hi)`: closes the descriptors in `[lo, hi]`, or only marks them
    /// close-on-exec.
    pub fn close_range(&mut self, lo: u32, hi: u32, only_cloexec: bool) {
        let range: alloc::vec::Vec<i32> = self
            .fds
            .keys()
            .copied()
            .filter(|&fd| fd as u32 >= lo && fd as u32 <= hi)
            .collect();
        for fd in range {
            if only_cloexec {
                self.set_cloexec(fd, true);
            } else {
                self.fds.remove(&fd);
            }
        }
    }

    /// A forked child's table: the same descriptions (one offset, one pipe end each) under
    /// the same numbers and flags.
    pub fn fork_copy(&self) -> FdTable {
        let mut t = FdTable {
            limit: self.limit,
            ..FdTable::default()
        };
        for (&fd, slot) in &self.fds {
            t.fds.insert(
                fd,
                Slot {
                    desc: slot.desc.clone(),
                    cloexec: slot.cloexec,
                },
            );
        }
        t
    }

    /// `execve`: the close-on-exec descriptors go.
    pub fn close_on_exec(&mut self) {
        self.fds.retain(|_, s| !s.cloexec);
    }
}
