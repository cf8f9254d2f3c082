//! Disk images on the host: creating them, and checking and opening one for the guest's
//! virtio-blk device (`crate::devices::blk`).
//!
//! An image is a plain file whose size is a non-zero multiple of 4096 bytes (the guest's block
//! size; with `O_DIRECT` also the alignment the host's device needs). It is opened read-write
//! and locked (`flock`), so two VMMs never share one image.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use lego_abi::virtio_blk::{BLOCK_SIZE, ID_BYTES};

use crate::config::DiskConfig;

/// Why a disk image cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("disk image {}: {problem}", path.display())]
pub struct DiskError {
    /// The image's path as given.
    pub path: PathBuf,
    /// What is wrong.
    pub problem: DiskProblem,
}

/// What is wrong with a disk image.
#[derive(Debug, thiserror::Error)]
pub enum DiskProblem {
    /// It does not exist.
    #[error("no such file (create one, e.g. `truncate -s 64M FILE`)")]
    NotFound,
    /// A directory, device node, socket, ...
    #[error("not a regular file ({0})")]
    NotRegular(&'static str),
    /// Zero bytes long.
    #[error("is empty; an image's size must be a non-zero multiple of 4096 bytes")]
    Empty,
    /// Not a whole number of 4 KiB blocks.
    #[error("size {0} bytes is not a multiple of 4096")]
    Unaligned(u64),
    /// The file system refused `O_DIRECT`.
    #[error("its file system does not support O_DIRECT (--disk-direct); use a buffered disk")]
    DirectUnsupported,
    /// Another process holds the image's lock.
    #[error("is in use by another VMM")]
    InUse,
    /// Another OS error.
    #[error("{op}: {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The error.
        source: io::Error,
    },
}

/// An opened, checked, locked disk image.
#[derive(Debug)]
pub struct Disk {
    /// The file (read-write, `O_DIRECT` if asked).
    pub file: File,
    /// With `O_DIRECT`: the same file opened through the page cache, for writes. Reads go to
    /// the device; writes are cached by the host until the guest flushes, like a disk's
    /// volatile write cache (and like the host's own write+fdatasync).
    pub writer: Option<File>,
    /// Its size in bytes: a non-zero multiple of 4096.
    pub size: u64,
    /// Opened with `O_DIRECT`.
    pub direct: bool,
    /// The id the device returns for GET_ID: the file's name, NUL-padded.
    pub id: [u8; ID_BYTES],
}

/// Checks an image's size.
pub fn check_size(size: u64) -> Result<(), DiskProblem> {
    if size == 0 {
        Err(DiskProblem::Empty)
    } else if !size.is_multiple_of(BLOCK_SIZE) {
        Err(DiskProblem::Unaligned(size))
    } else {
        Ok(())
    }
}

fn kind_name(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

fn check_metadata(m: &std::fs::Metadata) -> Result<u64, DiskProblem> {
    if !m.file_type().is_file() {
        return Err(DiskProblem::NotRegular(kind_name(m.file_type())));
    }
    check_size(m.len())?;
    Ok(m.len())
}

/// The GET_ID string: the image's file name, cut to [`ID_BYTES`].
fn device_id(path: &Path) -> [u8; ID_BYTES] {
    let mut id = [0u8; ID_BYTES];
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lego-disk".into());
    let n = name.len().min(ID_BYTES);
    id[..n].copy_from_slice(&name.as_bytes()[..n]);
    id
}

/// Checks and opens the image `cfg` names: it must exist, be a regular file, and have a
/// non-zero size that is a multiple of 4096; it is opened read-write (with `O_DIRECT` if
/// `cfg.direct`) and locked against other VMMs.
pub fn open(cfg: &DiskConfig) -> Result<Disk, DiskError> {
    let err = |problem| DiskError {
        path: cfg.path.clone(),
        problem,
    };
    // Checked before opening, so a FIFO is never opened (which would block).
    let meta = std::fs::metadata(&cfg.path).map_err(|e| {
        err(match e.kind() {
            io::ErrorKind::NotFound => DiskProblem::NotFound,
            _ => DiskProblem::Io {
                op: "cannot inspect it",
                source: e,
            },
        })
    })?;
    check_metadata(&meta).map_err(err)?;
    let mut opts = OpenOptions::new();
    opts.read(true).write(true);
    if cfg.direct {
        opts.custom_flags(libc::O_DIRECT);
    }
    let file = opts.open(&cfg.path).map_err(|e| {
        err(match e.raw_os_error() {
            Some(libc::EINVAL) if cfg.direct => DiskProblem::DirectUnsupported,
            Some(libc::ENOENT) => DiskProblem::NotFound,
            _ => DiskProblem::Io {
                op: "cannot open it read-write",
                source: e,
            },
        })
    })?;
    // The file we opened is the one we use: check it again (it may have been replaced).
    let meta = file.metadata().map_err(|e| {
        err(DiskProblem::Io {
            op: "cannot inspect it",
            source: e,
        })
    })?;
    let size = check_metadata(&meta).map_err(err)?;
    // SAFETY: flock on a descriptor we own; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = io::Error::last_os_error();
        return Err(err(if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            DiskProblem::InUse
        } else {
            DiskProblem::Io {
                op: "cannot lock it",
                source: e,
            }
        }));
    }
    let writer = if cfg.direct {
        Some(
            OpenOptions::new()
                .write(true)
                .open(&cfg.path)
                .map_err(|e| {
                    err(DiskProblem::Io {
                        op: "cannot open it for writing",
                        source: e,
                    })
                })?,
        )
    } else {
        None
    };
    Ok(Disk {
        file,
        writer,
        size,
        direct: cfg.direct,
        id: device_id(&cfg.path),
    })
}

/// Creates a sparse image of `bytes` (a non-zero multiple of 4096) at `path` if there is no file
/// there; leaves an existing file alone. Returns whether it created one.
pub fn create_image(path: &Path, bytes: u64) -> io::Result<bool> {
    if let Err(p) = check_size(bytes) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, p.to_string()));
    }
    let file = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    };
    if let Err(e) = file.set_len(bytes) {
        drop(file);
        let _ = std::fs::remove_file(path);
        if e.raw_os_error() == Some(libc::EFBIG) {
            // ext4 caps a file at 16 TiB less one block.
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "File too large: the host's file system cannot hold a {bytes}-byte \
                     image file (ext4's limit is 16 TiB less 4 KiB); choose a smaller \
                     --smon-disk"
                ),
            ));
        }
        return Err(e);
    }
    Ok(true)
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::PathBuf;

    /// A path in the temporary directory, removed on drop.
    pub(crate) struct TempPath(pub(crate) PathBuf);

    impl TempPath {
        pub(crate) fn new(tag: &str) -> TempPath {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            TempPath(std::env::temp_dir().join(format!(
                "lego-disk-test-{}-{tag}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            )))
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
            let _ = std::fs::remove_dir(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::TempPath;
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn cfg(p: &Path) -> DiskConfig {
        DiskConfig {
            path: p.to_path_buf(),
            direct: false,
        }
    }

    #[test]
    fn create_makes_a_sparse_image_once() {
        let p = TempPath::new("create");
        assert!(create_image(&p.0, 64 << 20).unwrap());
        let m = std::fs::metadata(&p.0).unwrap();
        assert_eq!(m.len(), 64 << 20);
        assert!(
            m.blocks() * 512 < 1 << 20,
            "not sparse: {} blocks",
            m.blocks()
        );
        std::fs::write(&p.0, vec![1u8; 8192]).unwrap();
        assert!(
            !create_image(&p.0, 64 << 20).unwrap(),
            "existing image kept"
        );
        assert_eq!(std::fs::metadata(&p.0).unwrap().len(), 8192);
        for bad in [0, 4095, 4097] {
            let q = TempPath::new("bad");
            let e = create_image(&q.0, bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert!(!q.0.exists());
        }
    }

    #[test]
    fn open_checks_existence_kind_and_size() {
        let p = TempPath::new("missing");
        let e = open(&cfg(&p.0)).unwrap_err();
        assert!(matches!(e.problem, DiskProblem::NotFound), "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("disk image {}: no such file", p.0.display()))
        );

        std::fs::write(&p.0, b"").unwrap();
        let e = open(&cfg(&p.0)).unwrap_err();
        assert!(matches!(e.problem, DiskProblem::Empty), "{e}");

        std::fs::write(&p.0, vec![0u8; 5000]).unwrap();
        let e = open(&cfg(&p.0)).unwrap_err();
        assert!(
            e.to_string()
                .contains("size 5000 bytes is not a multiple of 4096"),
            "{e}"
        );

        let d = TempPath::new("dir");
        std::fs::create_dir(&d.0).unwrap();
        let e = open(&cfg(&d.0)).unwrap_err();
        assert!(
            matches!(e.problem, DiskProblem::NotRegular("a directory")),
            "{e}"
        );

        std::fs::write(&p.0, vec![0u8; 8192]).unwrap();
        let disk = open(&cfg(&p.0)).unwrap();
        assert_eq!(disk.size, 8192);
        assert!(!disk.direct);
        assert!(disk.id.starts_with(b"lego-disk-test-"));
        // A second VMM on the same image is refused while the first holds it.
        let e = open(&cfg(&p.0)).unwrap_err();
        assert!(matches!(e.problem, DiskProblem::InUse), "{e}");
        drop(disk);
        open(&cfg(&p.0)).unwrap();
    }

    #[test]
    fn direct_open_works_or_says_why() {
        let p = TempPath::new("direct");
        assert!(create_image(&p.0, 1 << 20).unwrap());
        let mut c = cfg(&p.0);
        c.direct = true;
        match open(&c) {
            Ok(d) => assert!(d.direct),
            Err(DiskError {
                problem: DiskProblem::DirectUnsupported,
                ..
            }) => eprintln!("O_DIRECT unsupported in {}", std::env::temp_dir().display()),
            Err(e) => panic!("{e}"),
        }
    }
}
