//! `open` flags, `*at` flags, `fcntl` commands, `access` modes and `lseek` whence values
//! (`asm-generic/fcntl.h`, `linux/fcntl.h`, `linux/fs.h`, `unistd.h`).

/// Open for reading only.
pub const O_RDONLY: u32 = 0o0;
/// Open for writing only.
pub const O_WRONLY: u32 = 0o1;
/// Open for reading and writing.
pub const O_RDWR: u32 = 0o2;
/// Mask of the access mode.
pub const O_ACCMODE: u32 = 0o3;
/// Create the file if it does not exist.
pub const O_CREAT: u32 = 0o100;
/// With `O_CREAT`: fail if the file exists.
pub const O_EXCL: u32 = 0o200;
/// Do not make the terminal the controlling terminal.
pub const O_NOCTTY: u32 = 0o400;
/// Truncate to length 0.
pub const O_TRUNC: u32 = 0o1000;
/// Every write appends.
pub const O_APPEND: u32 = 0o2000;
/// Non-blocking I/O.
pub const O_NONBLOCK: u32 = 0o4000;
/// Synchronized data writes.
pub const O_DSYNC: u32 = 0o10000;
/// Direct I/O (no page cache).
pub const O_DIRECT: u32 = 0o40000;
/// Large file (always set on 64-bit; accepted and ignored).
pub const O_LARGEFILE: u32 = 0o100000;
/// Fail unless the path is a directory.
pub const O_DIRECTORY: u32 = 0o200000;
/// Fail if the last component is a symbolic link.
pub const O_NOFOLLOW: u32 = 0o400000;
/// Do not update the access time.
pub const O_NOATIME: u32 = 0o1000000;
/// Close on `execve`.
pub const O_CLOEXEC: u32 = 0o2000000;
/// Synchronized data and metadata writes (`__O_SYNC | O_DSYNC`).
pub const O_SYNC: u32 = 0o4000000 | O_DSYNC;
/// A path-only descriptor.
pub const O_PATH: u32 = 0o10000000;
/// An unnamed temporary file in the given directory (`__O_TMPFILE | O_DIRECTORY`).
pub const O_TMPFILE: u32 = 0o20000000 | O_DIRECTORY;
/// Same as `O_NONBLOCK`.
pub const O_NDELAY: u32 = O_NONBLOCK;

/// The `dirfd` meaning "the current directory".
pub const AT_FDCWD: i32 = -100;
/// Do not follow a final symbolic link.
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `faccessat`: check with the effective ids.
pub const AT_EACCESS: u32 = 0x200;
/// `unlinkat`: remove a directory.
pub const AT_REMOVEDIR: u32 = 0x200;
/// `linkat`: follow a final symbolic link.
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
/// Do not trigger automounts.
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
/// An empty path means `dirfd` itself.
pub const AT_EMPTY_PATH: u32 = 0x1000;
/// `statx`: sync mask.
pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;
/// `statx`: do what `stat` does.
pub const AT_STATX_SYNC_AS_STAT: u32 = 0x0000;
/// `statx`: force a sync with the server.
pub const AT_STATX_FORCE_SYNC: u32 = 0x2000;
/// `statx`: do not sync with the server.
pub const AT_STATX_DONT_SYNC: u32 = 0x4000;
/// Apply to the whole subtree.
pub const AT_RECURSIVE: u32 = 0x8000;

/// Duplicate to the lowest free descriptor at least `arg`.
pub const F_DUPFD: u32 = 0;
/// Get the descriptor flags (`FD_CLOEXEC`).
pub const F_GETFD: u32 = 1;
/// Set the descriptor flags.
pub const F_SETFD: u32 = 2;
/// Get the file status flags (`O_*`).
pub const F_GETFL: u32 = 3;
/// Set the file status flags (`O_APPEND`, `O_NONBLOCK`, ...).
pub const F_SETFL: u32 = 4;
/// Get a record lock.
pub const F_GETLK: u32 = 5;
/// Set a record lock.
pub const F_SETLK: u32 = 6;
/// Set a record lock, waiting.
pub const F_SETLKW: u32 = 7;
/// Set the owner for `SIGIO`.
pub const F_SETOWN: u32 = 8;
/// Get the owner for `SIGIO`.
pub const F_GETOWN: u32 = 9;
/// `F_DUPFD` with `FD_CLOEXEC` set on the new descriptor.
pub const F_DUPFD_CLOEXEC: u32 = 1024 + 6;
/// Set a pipe's capacity.
pub const F_SETPIPE_SZ: u32 = 1024 + 7;
/// Get a pipe's capacity.
pub const F_GETPIPE_SZ: u32 = 1024 + 8;
/// Add file seals.
pub const F_ADD_SEALS: u32 = 1024 + 9;
/// Get file seals.
pub const F_GET_SEALS: u32 = 1024 + 10;
/// The close-on-exec descriptor flag.
pub const FD_CLOEXEC: u32 = 1;

/// `access`: the file exists.
pub const F_OK: u32 = 0;
/// `access`: execute permission.
pub const X_OK: u32 = 1;
/// `access`: write permission.
pub const W_OK: u32 = 2;
/// `access`: read permission.
pub const R_OK: u32 = 4;

/// `lseek` from the start.
pub const SEEK_SET: u32 = 0;
/// `lseek` from the current offset.
pub const SEEK_CUR: u32 = 1;
/// `lseek` from the end.
pub const SEEK_END: u32 = 2;
/// `lseek` to the next data at or after the offset.
pub const SEEK_DATA: u32 = 3;
/// `lseek` to the next hole at or after the offset.
pub const SEEK_HOLE: u32 = 4;
