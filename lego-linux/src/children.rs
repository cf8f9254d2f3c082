//! Processes and their children as Linux defines them: which children a `wait4` target
//! names, the status word it returns, and how `execve` reads a `#!` line.

use alloc::vec::Vec;

/// Whether a child with id `pid` in group `pgid` is one `wait4`'s `target` names
/// (> 0 that pid, 0 the caller's group `my_pgid`, -1 any, < -1 group `-target`).
pub fn wait_names(target: i64, my_pgid: u32, pid: u32, pgid: u32) -> bool {
    match target {
        -1 => true,
        0 => pgid == my_pgid,
        t if t > 0 => i64::from(pid) == t,
        t => i64::from(pgid) == -t,
    }
}

/// `wait4`'s status word: exited with `code`, or killed by `signal` (no core file).
pub fn wait_status(exited: Option<u32>, signal: u32) -> i32 {
    match exited {
        Some(code) => ((code & 0xff) << 8) as i32,
        None => (signal & 0x7f) as i32,
    }
}

/// `wait4`'s status word for a child stopped by `signal` (`WIFSTOPPED`).
pub fn stopped_status(signal: u32) -> i32 {
    (((signal & 0xff) << 8) | 0x7f) as i32
}

/// `wait4`'s status word for a child continued by `SIGCONT` (`WIFCONTINUED`).
pub const CONTINUED_STATUS: i32 = 0xffff;

/// A `#!` line's interpreter and its one optional argument (Linux splits at the first blank
/// only, and trims the ends); `None` if `head` does not start with `#!` or names nothing.
pub fn shebang(head: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => &rest[..i],
        None => rest,
    };
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !blank(b))?;
    let line = &line[start..];
    let end = line.iter().rposition(|b| !blank(b))? + 1;
    let line = &line[..end];
    match line.iter().position(blank) {
        None => Some((line.to_vec(), None)),
        Some(i) => {
            let arg = &line[i..];
            let a = arg.iter().position(|b| !blank(b)).unwrap_or(arg.len());
            Some((line[..i].to_vec(), Some(arg[a..].to_vec())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wait_targets_name_children_as_linux_does() {
        assert!(wait_names(-1, 5, 7, 9));
        assert!(wait_names(7, 5, 7, 9) && !wait_names(8, 5, 7, 9));
        assert!(wait_names(0, 9, 7, 9) && !wait_names(0, 5, 7, 9));
        assert!(wait_names(-9, 5, 7, 9) && !wait_names(-5, 5, 7, 9));
    }

    #[test]
    fn status_words_decode_with_the_libc_macros() {
        let st = wait_status(Some(3), 0);
        assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 3);
        let st = wait_status(Some(256 + 7), 0);
        assert_eq!(libc::WEXITSTATUS(st), 7);
        let st = wait_status(None, 9);
        assert!(libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == 9 && !libc::WCOREDUMP(st));
        let st = stopped_status(19);
        assert!(libc::WIFSTOPPED(st) && libc::WSTOPSIG(st) == 19 && !libc::WIFSIGNALED(st));
        assert!(libc::WIFCONTINUED(CONTINUED_STATUS) && !libc::WIFEXITED(CONTINUED_STATUS));
    }

    #[test]
    fn shebang_lines_split_as_linux_splits_them() {
        assert_eq!(
            shebang(b"#!/bin/sh\necho"),
            Some((b"/bin/sh".to_vec(), None))
        );
        assert_eq!(
            shebang(b"#! /usr/bin/env  python3 -u \n"),
            Some((b"/usr/bin/env".to_vec(), Some(b"python3 -u".to_vec())))
        );
        assert_eq!(shebang(b"#!/bin/sh"), Some((b"/bin/sh".to_vec(), None)));
        assert_eq!(shebang(b"#!\n"), None);
        assert_eq!(shebang(b"#!   \t\n/bin/sh"), None);
        assert_eq!(shebang(b"\x7fELF"), None);
    }

    proptest! {
        #[test]
        fn shebang_never_panics(head in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut h = b"#!".to_vec();
            h.extend(&head);
            if let Some((i, a)) = shebang(&h) {
                prop_assert!(!i.is_empty() && !i.contains(&b'\n'));
                prop_assert!(a.is_none_or(|a| !a.contains(&b'\n')));
            }
        }
    }
}
