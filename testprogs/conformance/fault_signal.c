/* Signal syscalls with bad pointers: rt_sigaction, rt_sigprocmask, rt_sigpending, sigaltstack, rt_sigtimedwait, rt_sigqueueinfo give EFAULT; nothing changes. */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNMAPPED 0xdead0000UL
#define KERNEL 0xffff800000000000UL

int main(void) {
    unsigned long bad[] = {1UL, UNMAPPED, KERNEL};
    unsigned long set = 1UL << (SIGUSR1 - 1);
    for (int i = 0; i < 3; i++) {
        unsigned long b = bad[i];
        SAY("bad pointer %d", i);
        ERR(syscall(SYS_rt_sigaction, SIGUSR1, b, 0, 8), EFAULT);
        ERR(syscall(SYS_rt_sigaction, SIGUSR1, 0, b, 8), EFAULT);
        ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, b, 0, 8), EFAULT);
        ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, b, 8), EFAULT);
        ERR(syscall(SYS_rt_sigpending, b, 8), EFAULT);
        ERR(syscall(SYS_sigaltstack, b, 0), EFAULT);
        ERR(syscall(SYS_sigaltstack, 0, b), EFAULT);
        ERR(syscall(SYS_rt_sigtimedwait, b, 0, 0, 8), EFAULT);
        ERR(syscall(SYS_rt_sigtimedwait, &set, 0, b, 8), EFAULT);
        ERR(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, b), EFAULT);
        ERR(syscall(SYS_rt_sigsuspend, b, 8), EFAULT);
    }
    /* the failed calls changed nothing */
    struct sigaction sa;
    CHECK(sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
    sigset_t cur;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGUSR1) == 0);
    stack_t ss;
    CHECK(sigaltstack(NULL, &ss) == 0 && ss.ss_flags == SS_DISABLE);
    /* a good new action with a bad old pointer: Linux installs the action, then reports EFAULT */
    struct {
        void (*h)(int);
        unsigned long flags;
        void (*r)(void);
        unsigned long mask;
    } k = {SIG_IGN, 0, 0, 0};
    ERR(syscall(SYS_rt_sigaction, SIGUSR2, &k, UNMAPPED, 8), EFAULT);
    CHECK(sigaction(SIGUSR2, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN);
    /* a good new mask with a bad old pointer */
    ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, UNMAPPED, 8), EFAULT);
    CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0);
    CHECK(sigismember(&cur, SIGUSR1) == 1); /* Linux applies the new mask before writing the old one */
    return DONE();
}
