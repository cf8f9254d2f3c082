//! Path validation. Lookups hash the whole path (the flat namespace of the LegoOS storage
//! component), so a path must be canonical: absolute, no `.`/`..`, no empty components.

use crate::error::{FsError, Result};

/// Longest accepted path, in bytes.
pub const MAX_PATH: usize = 4096;
/// Longest accepted path component, in bytes.
pub const MAX_NAME: usize = 255;

/// Checks that `path` is a canonical absolute path (`/` itself is accepted).
pub fn validate(path: &str) -> Result<()> {
    if path.len() > MAX_PATH {
        return Err(FsError::PathTooLong);
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(FsError::NotAbsolute);
    };
    if rest.is_empty() {
        return Ok(());
    }
    for name in rest.split('/') {
        if name.is_empty() {
            return Err(FsError::EmptyComponent);
        }
        if name == "." || name == ".." {
            return Err(FsError::DotComponent);
        }
        if name.len() > MAX_NAME {
            return Err(FsError::NameTooLong);
        }
    }
    Ok(())
}

/// Splits a validated, non-root path into its parent directory and last component.
pub(crate) fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// Whether `path` is the root directory.
pub(crate) fn is_root(path: &str) -> bool {
    path == "/"
}

/// Whether `path` lies strictly inside directory `dir` (both validated).
pub fn is_inside(path: &str, dir: &str) -> bool {
    if is_root(dir) {
        return !is_root(path);
    }
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// `path`, which lies inside `from` (or is `from`), moved under `to`.
pub(crate) fn rebase(path: &str, from: &str, to: &str) -> alloc::string::String {
    let mut s = alloc::string::String::with_capacity(path.len() - from.len() + to.len());
    s.push_str(to);
    s.push_str(&path[from.len()..]);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_and_rebase() {
        assert!(is_inside("/a/b", "/a"));
        assert!(is_inside("/a/b/c", "/a"));
        assert!(!is_inside("/a", "/a"));
        assert!(!is_inside("/ab", "/a"));
        assert!(!is_inside("/b", "/a"));
        assert!(is_inside("/a", "/"));
        assert!(!is_inside("/", "/"));
        assert_eq!(rebase("/a/b/c", "/a", "/x/y"), "/x/y/b/c");
        assert_eq!(rebase("/a", "/a", "/z"), "/z");
    }

    #[test]
    fn accepts_canonical_paths() {
        for p in ["/", "/a", "/a/b/c", "/.hidden", "/a..b", "/a/..x/y."] {
            assert_eq!(validate(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn rejects_each_malformation() {
        assert_eq!(validate(""), Err(FsError::NotAbsolute));
        assert_eq!(validate("a/b"), Err(FsError::NotAbsolute));
        assert_eq!(validate("//"), Err(FsError::EmptyComponent));
        assert_eq!(validate("/a//b"), Err(FsError::EmptyComponent));
        assert_eq!(validate("/a/"), Err(FsError::EmptyComponent));
        assert_eq!(validate("/."), Err(FsError::DotComponent));
        assert_eq!(validate("/a/../b"), Err(FsError::DotComponent));
        assert_eq!(validate("/a/./b"), Err(FsError::DotComponent));
    }

    #[test]
    fn length_limits() {
        let name255 = "x".repeat(MAX_NAME);
        let name256 = "x".repeat(MAX_NAME + 1);
        assert_eq!(validate(&format!("/{name255}")), Ok(()));
        assert_eq!(validate(&format!("/{name256}")), Err(FsError::NameTooLong));
        // 16 components of 255 bytes plus their slashes are exactly 4096 bytes: accepted.
        let p: String = (0..16).map(|_| format!("/{name255}")).collect();
        assert_eq!(p.len(), MAX_PATH);
        assert_eq!(validate(&p), Ok(()));
        let p = format!("{p}z");
        assert_eq!(validate(&p), Err(FsError::PathTooLong));
    }

    #[test]
    fn split_parent_and_name() {
        assert_eq!(split("/a"), ("/", "a"));
        assert_eq!(split("/a/b"), ("/a", "b"));
        assert_eq!(split("/a/b/c"), ("/a/b", "c"));
        assert!(is_root("/"));
        assert!(!is_root("/a"));
    }
}
