//! `VNODE:PATH` arguments of `lego put/get/ls/rm/mkdir`.

/// A parsed `VNODE:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The vNode's name or id.
    pub vnode: String,
    /// The path in its namespace: absolute; a relative one is taken from the root, and a
    /// trailing `/` is dropped. Anything else (`..`, `//`) is left for the storage monitor to
    /// refuse, so the error comes from the one place that enforces it.
    pub path: String,
}

/// Parses `VNODE:PATH` (`VNODE:` alone is the root).
pub fn parse(arg: &str) -> Result<Remote, String> {
    let (vnode, path) = arg
        .split_once(':')
        .ok_or_else(|| format!("`{arg}`: write a vNode path as VNODE:PATH (e.g. web:/data/x)"))?;
    if vnode.is_empty() {
        return Err(format!("`{arg}`: the vNode name is missing before `:`"));
    }
    let mut path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    if path.len() > 1 && path.ends_with('/') && !path.ends_with("//") {
        path.pop();
    }
    Ok(Remote {
        vnode: vnode.to_string(),
        path,
    })
}

/// The last component of a path (`/` for the root).
pub fn basename(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some((_, "")) | None => path,
        Some((_, name)) => name,
    }
}

/// `dir` joined with `name`.
pub fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vnode_paths() {
        let r = parse("web:/a/b/").expect("ok");
        assert_eq!((r.vnode.as_str(), r.path.as_str()), ("web", "/a/b"));
        assert_eq!(parse("3:x").expect("ok").path, "/x");
        assert_eq!(parse("web:").expect("ok").path, "/");
        assert_eq!(parse("web:/").expect("ok").path, "/");
        // Left for the server to refuse.
        assert_eq!(parse("web:/a/../b").expect("ok").path, "/a/../b");
        parse("no-colon").expect_err("no colon");
        parse(":/x").expect_err("no vnode");
    }

    #[test]
    fn joins_and_basenames() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/d", "a"), "/d/a");
        assert_eq!(basename("/d/a"), "a");
        assert_eq!(basename("/"), "/");
        assert_eq!(basename("file"), "file");
    }
}
