//! `struct stat` (`asm/stat.h`, x86-64), `struct statx` (`linux/stat.h`) and the mode bits.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// What `stat`, `fstat`, `lstat` and `newfstatat` write (x86-64's own layout: `st_nlink` before
/// `st_mode`, 64-bit `st_nlink`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Stat {
    /// Device of the file system.
    pub st_dev: u64,
    /// Inode number.
    pub st_ino: u64,
    /// Hard links.
    pub st_nlink: u64,
    /// Type and permissions (`S_IF*` | mode bits).
    pub st_mode: u32,
    /// Owner.
    pub st_uid: u32,
    /// Group.
    pub st_gid: u32,
    /// Padding.
    pub pad0: u32,
    /// Device, for device files.
    pub st_rdev: u64,
    /// Size in bytes.
    pub st_size: i64,
    /// Preferred I/O size.
    pub st_blksize: i64,
    /// 512-byte blocks allocated.
    pub st_blocks: i64,
    /// Last access, seconds.
    pub st_atime: i64,
    /// Last access, nanoseconds.
    pub st_atime_nsec: u64,
    /// Last modification, seconds.
    pub st_mtime: i64,
    /// Last modification, nanoseconds.
    pub st_mtime_nsec: u64,
    /// Last status change, seconds.
    pub st_ctime: i64,
    /// Last status change, nanoseconds.
    pub st_ctime_nsec: u64,
    /// Reserved.
    pub unused: [i64; 3],
}

const _: () = assert!(size_of::<Stat>() == 144);

/// A `statx` time.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct StatxTimestamp {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: u32,
    /// Reserved.
    pub reserved: i32,
}

/// What `statx` writes (256 bytes; fields newer than Linux 6.1 are in `spare`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Statx {
    /// Which fields are filled (`STATX_*`).
    pub stx_mask: u32,
    /// Preferred I/O size.
    pub stx_blksize: u32,
    /// `STATX_ATTR_*` flags.
    pub stx_attributes: u64,
    /// Hard links.
    pub stx_nlink: u32,
    /// Owner.
    pub stx_uid: u32,
    /// Group.
    pub stx_gid: u32,
    /// Type and permissions.
    pub stx_mode: u16,
    /// Reserved.
    pub spare0: u16,
    /// Inode number.
    pub stx_ino: u64,
    /// Size in bytes.
    pub stx_size: u64,
    /// 512-byte blocks allocated.
    pub stx_blocks: u64,
    /// Which `stx_attributes` bits are supported.
    pub stx_attributes_mask: u64,
    /// Last access.
    pub stx_atime: StatxTimestamp,
    /// Creation.
    pub stx_btime: StatxTimestamp,
    /// Last status change.
    pub stx_ctime: StatxTimestamp,
    /// Last modification.
    pub stx_mtime: StatxTimestamp,
    /// Device (major), for device files.
    pub stx_rdev_major: u32,
    /// Device (minor), for device files.
    pub stx_rdev_minor: u32,
    /// Device of the file system (major).
    pub stx_dev_major: u32,
    /// Device of the file system (minor).
    pub stx_dev_minor: u32,
    /// Mount id.
    pub stx_mnt_id: u64,
    /// Direct I/O memory alignment.
    pub stx_dio_mem_align: u32,
    /// Direct I/O offset alignment.
    pub stx_dio_offset_align: u32,
    /// Reserved (later kernels' fields; zero here).
    pub spare: [u64; 12],
}

const _: () = assert!(size_of::<StatxTimestamp>() == 16);
const _: () = assert!(size_of::<Statx>() == 256);

/// Mask of the file type.
pub const S_IFMT: u32 = 0o170000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010000;
/// Set-user-id.
pub const S_ISUID: u32 = 0o4000;
/// Set-group-id.
pub const S_ISGID: u32 = 0o2000;
/// Sticky.
pub const S_ISVTX: u32 = 0o1000;
/// Owner: read, write, execute.
pub const S_IRWXU: u32 = 0o700;
/// Owner: read.
pub const S_IRUSR: u32 = 0o400;
/// Owner: write.
pub const S_IWUSR: u32 = 0o200;
/// Owner: execute.
pub const S_IXUSR: u32 = 0o100;
/// Group: read, write, execute.
pub const S_IRWXG: u32 = 0o070;
/// Group: read.
pub const S_IRGRP: u32 = 0o040;
/// Group: write.
pub const S_IWGRP: u32 = 0o020;
/// Group: execute.
pub const S_IXGRP: u32 = 0o010;
/// Others: read, write, execute.
pub const S_IRWXO: u32 = 0o007;
/// Others: read.
pub const S_IROTH: u32 = 0o004;
/// Others: write.
pub const S_IWOTH: u32 = 0o002;
/// Others: execute.
pub const S_IXOTH: u32 = 0o001;

/// `statx` mask: file type.
pub const STATX_TYPE: u32 = 0x1;
/// `statx` mask: permissions.
pub const STATX_MODE: u32 = 0x2;
/// `statx` mask: link count.
pub const STATX_NLINK: u32 = 0x4;
/// `statx` mask: owner.
pub const STATX_UID: u32 = 0x8;
/// `statx` mask: group.
pub const STATX_GID: u32 = 0x10;
/// `statx` mask: access time.
pub const STATX_ATIME: u32 = 0x20;
/// `statx` mask: modification time.
pub const STATX_MTIME: u32 = 0x40;
/// `statx` mask: status change time.
pub const STATX_CTIME: u32 = 0x80;
/// `statx` mask: inode number.
pub const STATX_INO: u32 = 0x100;
/// `statx` mask: size.
pub const STATX_SIZE: u32 = 0x200;
/// `statx` mask: blocks.
pub const STATX_BLOCKS: u32 = 0x400;
/// `statx` mask: everything `stat` has.
pub const STATX_BASIC_STATS: u32 = 0x7ff;
/// `statx` mask: creation time.
pub const STATX_BTIME: u32 = 0x800;
/// `statx` mask: mount id.
pub const STATX_MNT_ID: u32 = 0x1000;

/// The `S_IF*` type bits of a mode.
pub const fn file_type(mode: u32) -> u32 {
    mode & S_IFMT
}

/// Whether the mode is a directory's.
pub const fn is_dir(mode: u32) -> bool {
    file_type(mode) == S_IFDIR
}

/// Whether the mode is a regular file's.
pub const fn is_reg(mode: u32) -> bool {
    file_type(mode) == S_IFREG
}

/// The `getdents64` type (`DT_*`) of a mode (`S_IF* >> 12`, as Linux's `fs_umode_to_dtype`).
pub const fn dtype_of_mode(mode: u32) -> u8 {
    (file_type(mode) >> 12) as u8
}

/// What `statfs` and `fstatfs` write (x86-64: every count a `long`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Statfs {
    /// The file system's magic number.
    pub f_type: i64,
    /// Its block size.
    pub f_bsize: i64,
    /// Data blocks in all.
    pub f_blocks: u64,
    /// Free blocks.
    pub f_bfree: u64,
    /// Free blocks an unprivileged user may take.
    pub f_bavail: u64,
    /// Inodes in all (0: not counted).
    pub f_files: u64,
    /// Free inodes.
    pub f_ffree: u64,
    /// File system id.
    pub f_fsid: [i32; 2],
    /// Longest file name.
    pub f_namelen: i64,
    /// Fragment size.
    pub f_frsize: i64,
    /// Mount flags (`ST_*`).
    pub f_flags: i64,
    /// Zero.
    pub f_spare: [i64; 4],
}

const _: () = assert!(size_of::<Statfs>() == 120);

/// `ST_VALID`: `f_flags` is meaningful.
pub const ST_VALID: i64 = 0x20;

/// `STATX__RESERVED`: must not be asked for.
pub const STATX_RESERVED: u32 = 0x8000_0000;

/// Linux's `new_decode_dev` halves of a `dev_t`: (major, minor).
pub const fn dev_split(dev: u64) -> (u32, u32) {
    (
        ((dev >> 8) & 0xfff) as u32 | (((dev >> 32) & !0xfff) as u32),
        (dev & 0xff) as u32 | (((dev >> 12) & !0xff) as u32),
    )
}

impl Statx {
    /// The `statx` of what `stat` says (the basic fields; no birth time).
    pub fn from_stat(s: &Stat) -> Statx {
        let ts = |sec: i64, nsec: u64| StatxTimestamp {
            tv_sec: sec,
            tv_nsec: nsec as u32,
            reserved: 0,
        };
        let (rmaj, rmin) = dev_split(s.st_rdev);
        let (dmaj, dmin) = dev_split(s.st_dev);
        Statx {
            stx_mask: STATX_BASIC_STATS,
            stx_blksize: s.st_blksize as u32,
            stx_nlink: s.st_nlink as u32,
            stx_uid: s.st_uid,
            stx_gid: s.st_gid,
            stx_mode: s.st_mode as u16,
            stx_ino: s.st_ino,
            stx_size: s.st_size as u64,
            stx_blocks: s.st_blocks as u64,
            stx_atime: ts(s.st_atime, s.st_atime_nsec),
            stx_ctime: ts(s.st_ctime, s.st_ctime_nsec),
            stx_mtime: ts(s.st_mtime, s.st_mtime_nsec),
            stx_rdev_major: rmaj,
            stx_rdev_minor: rmin,
            stx_dev_major: dmaj,
            stx_dev_minor: dmin,
            ..Statx::default()
        }
    }
}

#[cfg(test)]
mod statx_tests {
    use super::*;

    #[test]
    fn statx_carries_what_stat_says() {
        let s = Stat {
            st_dev: 0x4c45,
            st_ino: 77,
            st_nlink: 1,
            st_mode: S_IFREG | 0o640,
            st_rdev: (1 << 8) | 8, // 1:8, /dev/urandom
            st_size: 12345,
            st_blksize: 4096,
            st_blocks: 32,
            st_mtime: 9,
            st_mtime_nsec: 5,
            ..Stat::default()
        };
        let x = Statx::from_stat(&s);
        assert_eq!(x.stx_mask, STATX_BASIC_STATS);
        assert_eq!(
            (x.stx_mode, x.stx_ino, x.stx_size),
            ((S_IFREG | 0o640) as u16, 77, 12345)
        );
        assert_eq!((x.stx_rdev_major, x.stx_rdev_minor), (1, 8));
        assert_eq!((x.stx_dev_major, x.stx_dev_minor), (0x4c, 0x45));
        assert_eq!((x.stx_mtime.tv_sec, x.stx_mtime.tv_nsec), (9, 5));
        assert_eq!(x.stx_btime, StatxTimestamp::default());
    }

    #[test]
    fn dev_split_matches_glibc_major_minor() {
        // makedev(major, minor) as glibc builds it.
        let makedev = |ma: u64, mi: u64| {
            ((ma & 0xfff) << 8) | ((ma & !0xfff) << 32) | (mi & 0xff) | ((mi & !0xff) << 12)
        };
        assert_eq!(dev_split(makedev(259, 70000)), (259, 70000));
        assert_eq!(dev_split(makedev(0x12345, 7)), (0x12345, 7));
    }
}
