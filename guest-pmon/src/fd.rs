//! A process's file descriptors: the Linux state the pComponent keeps for files (LegoOS keeps
//! it at P too), with the files themselves in the vNode's storage behind a stateless protocol.

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;

/// Most descriptors a process may have open (`RLIMIT_NOFILE`'s usual soft limit).
pub const MAX_FDS: usize = 1024;

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
    /// `O_CLOEXEC` (recorded; there is no exec yet).
    pub cloexec: bool,
    /// The flags as given (`F_GETFL`).
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
            cloexec: flags & 0o2000000 != 0,
            flags,
        }
    }
}

/// The table.
#[derive(Debug, Default)]
pub struct FdTable {
    fds: BTreeMap<i32, Open>,
}

impl FdTable {
    /// Stdin, stdout, stderr.
    pub fn standard() -> FdTable {
        let mut t = FdTable::default();
        t.fds.insert(0, Open::new(Target::Stdin, 0));
        t.fds.insert(1, Open::new(Target::Output(1), 1));
        t.fds.insert(2, Open::new(Target::Output(2), 1));
        t
    }

    /// The lowest free descriptor at or above `from`, given `o`; `None` if the table is full.
    pub fn insert_from(&mut self, from: i32, o: Open) -> Option<i32> {
        if self.fds.len() >= MAX_FDS {
            return None;
        }
        let mut fd = from.max(0);
        while self.fds.contains_key(&fd) {
            fd += 1;
        }
        if fd as usize >= MAX_FDS {
            return None;
        }
        self.fds.insert(fd, o);
        Some(fd)
    }

    /// The lowest free descriptor, given `o`.
    pub fn insert(&mut self, o: Open) -> Option<i32> {
        self.insert_from(0, o)
    }

    /// Puts `o` at `fd` (dup2), replacing what was there.
    pub fn put(&mut self, fd: i32, o: Open) -> bool {
        if fd < 0 || fd as usize >= MAX_FDS {
            return false;
        }
        self.fds.insert(fd, o);
        true
    }

    /// The description of `fd`.
    pub fn get(&mut self, fd: i32) -> Option<&mut Open> {
        self.fds.get_mut(&fd)
    }

    /// Closes `fd`.
    pub fn close(&mut self, fd: i32) -> Option<Open> {
        self.fds.remove(&fd)
    }
}
