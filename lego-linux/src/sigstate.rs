//! A process's signal state as the kernel keeps it: the actions, the blocked mask, the
//! pending set with each signal's `siginfo`, the alternate stack; and the rules for sending,
//! choosing the next signal to deliver and entering a handler. The monitor writes the frames
//! (`abi::sigframe`); the decisions are here, tested on the host.
//!
//! Like Linux: a signal whose action is to ignore it is dropped when sent (unless blocked),
//! synchronous fault signals are delivered before others, then the lowest number first; a
//! fault signal that is blocked or ignored kills (`force_sig_fault`). Unlike Linux, real-time
//! signals do not queue more than one instance each, and a signal sent to the process waits
//! in the pending set of the thread the monitor picked (one that does not block it), not in a
//! shared one.

use crate::abi::sigframe::Siginfo;
use crate::abi::signal::{KernelSigaction, SA_NODEFER, SA_RESETHAND, SIG_DFL, SIG_IGN};
use crate::errno::{self as e, Errno};
use crate::signal::{self as s, DefaultAction};

/// Signals that can never be blocked: `SIGKILL`, `SIGSTOP`.
pub const UNBLOCKABLE: u64 = (1 << (s::SIGKILL - 1)) | (1 << (s::SIGSTOP - 1));
/// Synchronous signals, delivered first (Linux's `SYNCHRONOUS_MASK`).
const SYNCHRONOUS: u64 = (1 << (s::SIGSEGV - 1))
    | (1 << (s::SIGBUS - 1))
    | (1 << (s::SIGILL - 1))
    | (1 << (s::SIGTRAP - 1))
    | (1 << (s::SIGFPE - 1))
    | (1 << (s::SIGSYS - 1));

/// What delivering a signal does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Run this handler.
    Handler(KernelSigaction),
    /// End the process (`core`: the default action dumps core).
    Terminate {
        /// A core-dumping signal.
        core: bool,
    },
    /// Stop the process until a `SIGCONT` (job control).
    Stop,
    /// Nothing.
    Ignore,
}

/// The stop signals: `SIGSTOP`, `SIGTSTP`, `SIGTTIN`, `SIGTTOU`.
pub const STOPS: u64 = (1 << (s::SIGSTOP - 1))
    | (1 << (s::SIGTSTP - 1))
    | (1 << (s::SIGTTIN - 1))
    | (1 << (s::SIGTTOU - 1));

/// One process's signal state: the actions (shared by its threads) and the running thread's
/// own part (mask, pending set, alternate stack). The other threads' parts wait in
/// [`ThreadSig`]s, exchanged with [`SigState::swap_thread`].
#[derive(Clone, Debug)]
pub struct SigState {
    actions: [KernelSigaction; 65],
    /// Blocked signals (bit `sig - 1`).
    pub mask: u64,
    pending: u64,
    info: alloc::boxed::Box<[Siginfo; 65]>,
    /// `sigaltstack`: (`ss_sp`, `ss_flags`, `ss_size`).
    pub altstack: (u64, u32, u64),
    /// The mask to restore after the handler `rt_sigsuspend` waited for.
    pub saved_mask: Option<u64>,
}

/// A thread's own part of the signal state while another thread of its process runs.
#[derive(Clone, Debug)]
pub struct ThreadSig {
    mask: u64,
    pending: u64,
    info: alloc::boxed::Box<[Siginfo; 65]>,
    altstack: (u64, u32, u64),
    saved_mask: Option<u64>,
}

impl ThreadSig {
    /// Whether this thread blocks `sig`.
    pub fn blocks(&self, sig: u32) -> bool {
        self.mask & bit(sig) != 0
    }
}

impl Default for SigState {
    fn default() -> Self {
        SigState {
            actions: [KernelSigaction::default(); 65],
            mask: 0,
            pending: 0,
            info: alloc::boxed::Box::new([Siginfo::default(); 65]),
            altstack: (0, crate::abi::signal::SS_DISABLE as u32, 0),
            saved_mask: None,
        }
    }
}

fn bit(sig: u32) -> u64 {
    s::mask_bit(sig).unwrap_or(0)
}

impl SigState {
    /// The action of `sig` (valid signals only).
    pub fn action(&self, sig: u32) -> KernelSigaction {
        self.actions.get(sig as usize).copied().unwrap_or_default()
    }

    /// `rt_sigaction`: sets the action of `sig`, returning the old one. Setting one that
    /// ignores the signal discards it if pending.
    pub fn set_action(&mut self, sig: u32, act: KernelSigaction) -> Result<KernelSigaction, Errno> {
        if !s::can_be_caught(sig) {
            return Err(e::EINVAL);
        }
        let old = self.actions[sig as usize];
        self.actions[sig as usize] = act;
        if self.disposition(sig) == Disposition::Ignore {
            self.pending &= !bit(sig);
        }
        Ok(old)
    }

    /// `rt_sigprocmask(how, set)`: the new mask (`SIGKILL` and `SIGSTOP` never blocked).
    pub fn set_mask(&mut self, how: u32, set: u64) -> Result<(), Errno> {
        let m = match how {
            crate::abi::signal::SIG_BLOCK => self.mask | set,
            crate::abi::signal::SIG_UNBLOCK => self.mask & !set,
            crate::abi::signal::SIG_SETMASK => set,
            _ => return Err(e::EINVAL),
        };
        self.mask = m & !UNBLOCKABLE;
        Ok(())
    }

    /// A forked child's state: the same actions, mask and alternate stack; nothing pending
    /// (Linux's `copy_process`).
    pub fn fork_copy(&self) -> SigState {
        SigState {
            pending: 0,
            info: alloc::boxed::Box::new([Siginfo::default(); 65]),
            saved_mask: None,
            ..self.clone()
        }
    }

    /// A new thread's part (`clone` with `CLONE_THREAD`): the creator's mask, nothing pending,
    /// no alternate stack (Linux clears it for a thread sharing the address space).
    pub fn new_thread(&self) -> ThreadSig {
        ThreadSig {
            mask: self.mask,
            pending: 0,
            info: alloc::boxed::Box::new([Siginfo::default(); 65]),
            altstack: (0, crate::abi::signal::SS_DISABLE as u32, 0),
            saved_mask: None,
        }
    }

    /// Exchanges the running thread's part with `t` (a thread switch): cheap, the
    /// `siginfo`s move by pointer.
    pub fn swap_thread(&mut self, t: &mut ThreadSig) {
        core::mem::swap(&mut self.mask, &mut t.mask);
        core::mem::swap(&mut self.pending, &mut t.pending);
        core::mem::swap(&mut self.info, &mut t.info);
        core::mem::swap(&mut self.altstack, &mut t.altstack);
        core::mem::swap(&mut self.saved_mask, &mut t.saved_mask);
    }

    /// `execve`: handlers go back to the default (ignored signals stay ignored), the
    /// alternate stack goes; the mask and pending signals stay.
    pub fn exec_reset(&mut self) {
        for a in self.actions.iter_mut() {
            if a.sa_handler != SIG_IGN {
                *a = KernelSigaction::default();
            }
        }
        self.altstack = (0, crate::abi::signal::SS_DISABLE as u32, 0);
        self.saved_mask = None;
    }

    /// Whether `sig` is ignored: its action is `SIG_IGN`, or it is `SIG_DFL` with an ignore
    /// default (a child's `SIGCHLD` with `SIG_IGN` is reaped at once).
    pub fn ignores(&self, sig: u32) -> bool {
        self.action(sig).sa_handler == SIG_IGN
    }

    /// What delivering `sig` would do now.
    pub fn disposition(&self, sig: u32) -> Disposition {
        let act = self.action(sig);
        let default = || match s::default_action(sig) {
            Some(DefaultAction::Core) => Disposition::Terminate { core: true },
            Some(DefaultAction::Term) => Disposition::Terminate { core: false },
            Some(DefaultAction::Stop) => Disposition::Stop,
            // `SIGCONT` continues a stopped process when it is sent, not when delivered.
            _ => Disposition::Ignore,
        };
        if !s::can_be_caught(sig) {
            return default();
        }
        match act.sa_handler {
            SIG_DFL => default(),
            SIG_IGN => Disposition::Ignore,
            _ => Disposition::Handler(act),
        }
    }

    /// Sends `sig` with `info`; `false` if it was dropped (ignored and not blocked). A second
    /// instance of a pending signal is merged into the first. `SIGCONT` discards pending stop
    /// signals and a stop signal a pending `SIGCONT`, as Linux's `prepare_signal` does.
    pub fn send(&mut self, sig: u32, info: Siginfo) -> bool {
        if !s::is_valid(sig) {
            return false;
        }
        if sig == s::SIGCONT {
            self.pending &= !STOPS;
        } else if bit(sig) & STOPS != 0 {
            self.pending &= !bit(s::SIGCONT);
        }
        if self.mask & bit(sig) == 0 && self.disposition(sig) == Disposition::Ignore {
            return false;
        }
        if self.pending & bit(sig) == 0 {
            self.info[sig as usize] = info;
        }
        self.pending |= bit(sig);
        true
    }

    /// A fault's signal, which cannot wait: if blocked or ignored, the action becomes the
    /// default and the signal is unblocked (so it kills), as Linux's `force_sig_fault` does.
    pub fn force(&mut self, sig: u32, info: Siginfo) {
        let blocked = self.mask & bit(sig) != 0;
        if blocked || self.disposition(sig) == Disposition::Ignore {
            if let Some(a) = self.actions.get_mut(sig as usize) {
                a.sa_handler = SIG_DFL;
            }
            self.mask &= !bit(sig);
        }
        self.pending |= bit(sig);
        self.info[sig as usize] = info;
    }

    /// Signals whose action is `SIG_IGN` (`/proc/PID/status`'s `SigIgn`).
    pub fn ignored_set(&self) -> u64 {
        (1..65u32)
            .filter(|&s| self.action(s).sa_handler == SIG_IGN)
            .fold(0, |m, s| m | bit(s))
    }

    /// Signals with a handler (`SigCgt`).
    pub fn caught_set(&self) -> u64 {
        (1..65u32)
            .filter(|&s| !matches!(self.action(s).sa_handler, SIG_IGN | SIG_DFL))
            .fold(0, |m, s| m | bit(s))
    }

    /// Pending signals.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Whether a signal is waiting that is not blocked.
    pub fn deliverable(&self) -> bool {
        self.pending & !self.mask != 0
    }

    /// Takes the next signal to deliver: synchronous ones first, then the lowest number.
    pub fn take(&mut self) -> Option<(u32, Siginfo)> {
        let sig = self.next()?;
        self.pending &= !bit(sig);
        Some((sig, self.info[sig as usize]))
    }

    /// The signal [`SigState::take`] would take, left pending.
    pub fn peek(&self) -> Option<u32> {
        self.next()
    }

    fn next(&self) -> Option<u32> {
        let ready = self.pending & !self.mask;
        if ready == 0 {
            return None;
        }
        let pick = if ready & SYNCHRONOUS != 0 {
            ready & SYNCHRONOUS
        } else {
            ready
        };
        Some(pick.trailing_zeros() + 1)
    }

    /// Takes a pending signal of `set` (for `rt_sigtimedwait`), blocked or not.
    pub fn take_from(&mut self, set: u64) -> Option<(u32, Siginfo)> {
        let ready = self.pending & set;
        if ready == 0 {
            return None;
        }
        let sig = ready.trailing_zeros() + 1;
        self.pending &= !bit(sig);
        Some((sig, self.info[sig as usize]))
    }

    /// Enters `sig`'s handler `act`: returns the mask to save in the frame, and blocks what
    /// the action asks for (`sa_mask`, and `sig` itself unless `SA_NODEFER`); a
    /// `SA_RESETHAND` action goes back to the default.
    pub fn enter_handler(&mut self, sig: u32, act: &KernelSigaction) -> u64 {
        let saved = self.saved_mask.take().unwrap_or(self.mask);
        let mut m = self.mask | act.sa_mask;
        if act.sa_flags & SA_NODEFER == 0 {
            m |= bit(sig);
        }
        self.mask = m & !UNBLOCKABLE;
        if act.sa_flags & SA_RESETHAND != 0
            && let Some(a) = self.actions.get_mut(sig as usize)
        {
            a.sa_handler = SIG_DFL;
        }
        saved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::signal::{SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK};
    use proptest::prelude::*;

    fn handler(h: u64) -> KernelSigaction {
        KernelSigaction {
            sa_handler: h,
            ..KernelSigaction::default()
        }
    }

    fn info(sig: u32) -> Siginfo {
        Siginfo::user(sig, 0, 1)
    }

    #[test]
    fn fork_keeps_actions_and_exec_resets_handlers() {
        let mut st = SigState::default();
        st.set_action(s::SIGUSR1, handler(0x1234)).unwrap();
        st.set_action(s::SIGUSR2, handler(SIG_IGN)).unwrap();
        st.set_mask(SIG_SETMASK, 1 << (s::SIGINT - 1)).unwrap();
        st.send(s::SIGINT, info(s::SIGINT));
        let mut child = st.fork_copy();
        assert_eq!(child.action(s::SIGUSR1).sa_handler, 0x1234);
        assert_eq!((child.mask, child.pending()), (st.mask, 0));
        child.exec_reset();
        assert_eq!(child.action(s::SIGUSR1).sa_handler, SIG_DFL);
        assert!(child.ignores(s::SIGUSR2));
        assert_eq!(child.mask, st.mask);
    }

    #[test]
    fn threads_share_actions_and_keep_their_own_mask_and_pending() {
        let mut st = SigState::default();
        st.set_action(s::SIGUSR1, handler(0x1234)).unwrap();
        st.set_mask(SIG_SETMASK, 1 << (s::SIGUSR2 - 1)).unwrap();
        let mut other = st.new_thread();
        assert!(other.blocks(s::SIGUSR2) && !other.blocks(s::SIGUSR1));
        st.send(s::SIGUSR1, info(s::SIGUSR1));
        // The other thread runs: it sees the shared action, its own (empty) pending set.
        st.swap_thread(&mut other);
        assert_eq!(st.pending(), 0);
        assert_eq!(st.action(s::SIGUSR1).sa_handler, 0x1234);
        st.set_mask(SIG_SETMASK, 0).unwrap();
        st.send(s::SIGUSR2, info(s::SIGUSR2));
        st.set_action(s::SIGUSR2, handler(0x99)).unwrap();
        // Back to the first: its pending SIGUSR1 and mask are there, and so is the new action.
        st.swap_thread(&mut other);
        assert_eq!(st.pending(), 1 << (s::SIGUSR1 - 1));
        assert_eq!(st.mask, 1 << (s::SIGUSR2 - 1));
        assert_eq!(st.action(s::SIGUSR2).sa_handler, 0x99);
        assert!(!other.blocks(s::SIGUSR2));
    }

    #[test]
    fn defaults_terminate_or_ignore() {
        let st = SigState::default();
        assert_eq!(
            st.disposition(s::SIGSEGV),
            Disposition::Terminate { core: true }
        );
        assert_eq!(
            st.disposition(s::SIGTERM),
            Disposition::Terminate { core: false }
        );
        assert_eq!(st.disposition(s::SIGCHLD), Disposition::Ignore);
        assert_eq!(st.disposition(s::SIGCONT), Disposition::Ignore);
        assert_eq!(st.disposition(s::SIGSTOP), Disposition::Stop);
        assert_eq!(st.disposition(s::SIGTSTP), Disposition::Stop);
        assert_eq!(st.disposition(40), Disposition::Terminate { core: false });
    }

    #[test]
    fn continue_and_stop_cancel_each_other() {
        let mut st = SigState::default();
        st.set_mask(SIG_BLOCK, bit(s::SIGTSTP) | bit(s::SIGCONT))
            .unwrap();
        assert!(st.send(s::SIGTSTP, info(s::SIGTSTP)));
        assert!(st.send(s::SIGCONT, info(s::SIGCONT)));
        assert_eq!(st.pending(), bit(s::SIGCONT));
        assert!(st.send(s::SIGSTOP, info(s::SIGSTOP)));
        assert_eq!(st.pending(), bit(s::SIGSTOP));
    }

    #[test]
    fn ignored_signals_are_dropped_unless_blocked() {
        let mut st = SigState::default();
        assert!(!st.send(s::SIGCHLD, info(s::SIGCHLD)));
        st.set_action(s::SIGUSR1, handler(SIG_IGN)).unwrap();
        assert!(!st.send(s::SIGUSR1, info(s::SIGUSR1)));
        st.set_mask(SIG_BLOCK, bit(s::SIGUSR1)).unwrap();
        assert!(st.send(s::SIGUSR1, info(s::SIGUSR1)));
        assert!(!st.deliverable());
        // Ignoring a pending signal discards it.
        st.set_action(s::SIGUSR1, handler(SIG_IGN)).unwrap();
        assert_eq!(st.pending(), 0);
    }

    #[test]
    fn kill_and_stop_cannot_be_caught_or_blocked() {
        let mut st = SigState::default();
        assert_eq!(st.set_action(s::SIGKILL, handler(0x1000)), Err(e::EINVAL));
        assert_eq!(st.set_action(s::SIGSTOP, handler(SIG_IGN)), Err(e::EINVAL));
        assert_eq!(st.set_action(0, handler(0x1000)), Err(e::EINVAL));
        assert_eq!(st.set_action(65, handler(0x1000)), Err(e::EINVAL));
        st.set_mask(SIG_SETMASK, u64::MAX).unwrap();
        assert_eq!(st.mask & UNBLOCKABLE, 0);
        assert!(st.send(s::SIGKILL, info(s::SIGKILL)));
        assert_eq!(st.take().map(|t| t.0), Some(s::SIGKILL));
        assert_eq!(st.set_mask(7, 0), Err(e::EINVAL));
    }

    #[test]
    fn synchronous_signals_first_then_lowest() {
        let mut st = SigState::default();
        for sig in [s::SIGTERM, s::SIGUSR1, s::SIGSEGV, s::SIGHUP] {
            st.send(sig, info(sig));
        }
        let order: Vec<u32> = core::iter::from_fn(|| st.take().map(|t| t.0)).collect();
        assert_eq!(order, [s::SIGSEGV, s::SIGHUP, s::SIGUSR1, s::SIGTERM]);
    }

    #[test]
    fn a_blocked_fault_kills() {
        let mut st = SigState::default();
        st.set_action(s::SIGSEGV, handler(0x1000)).unwrap();
        st.set_mask(SIG_BLOCK, bit(s::SIGSEGV)).unwrap();
        st.force(s::SIGSEGV, Siginfo::fault(s::SIGSEGV, 1, 0xdead));
        let (sig, i) = st.take().unwrap();
        assert_eq!((sig, i.addr()), (s::SIGSEGV, 0xdead));
        assert_eq!(st.disposition(sig), Disposition::Terminate { core: true });
        // Handled and unblocked: the handler runs.
        let mut st = SigState::default();
        st.set_action(s::SIGFPE, handler(0x1000)).unwrap();
        st.force(s::SIGFPE, Siginfo::fault(s::SIGFPE, 1, 0));
        let sig = st.take().unwrap().0;
        assert!(matches!(st.disposition(sig), Disposition::Handler(_)));
    }

    #[test]
    fn handlers_block_their_signal_and_sigsuspend_restores_the_mask() {
        let mut st = SigState::default();
        let act = KernelSigaction {
            sa_handler: 0x1000,
            sa_mask: bit(s::SIGUSR2),
            sa_flags: SA_RESETHAND,
            ..KernelSigaction::default()
        };
        st.set_action(s::SIGUSR1, act).unwrap();
        st.set_mask(SIG_SETMASK, bit(s::SIGHUP)).unwrap();
        st.saved_mask = Some(bit(s::SIGINT));
        let saved = st.enter_handler(s::SIGUSR1, &act);
        assert_eq!(saved, bit(s::SIGINT));
        assert_eq!(st.mask, bit(s::SIGHUP) | bit(s::SIGUSR1) | bit(s::SIGUSR2));
        assert_eq!(st.action(s::SIGUSR1).sa_handler, SIG_DFL);
        st.set_mask(SIG_UNBLOCK, bit(s::SIGHUP)).unwrap();
        assert_eq!(st.mask, bit(s::SIGUSR1) | bit(s::SIGUSR2));
    }

    proptest! {
        #[test]
        fn take_never_returns_a_blocked_or_unsent_signal(
            sends in proptest::collection::vec(0u32..70, 0..20),
            mask in any::<u64>(),
        ) {
            let mut st = SigState::default();
            st.set_mask(SIG_SETMASK, mask).unwrap();
            let mut sent = 0u64;
            for sig in sends {
                if st.send(sig, info(sig)) {
                    sent |= bit(sig);
                }
            }
            while let Some((sig, i)) = st.take() {
                prop_assert!(sent & bit(sig) != 0);
                prop_assert!(st.mask & bit(sig) == 0);
                prop_assert_eq!(i.si_signo as u32, sig);
                sent &= !bit(sig);
            }
            prop_assert_eq!(st.pending() & !st.mask, 0);
        }
    }
}
