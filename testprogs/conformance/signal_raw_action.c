/* The raw rt_sigaction syscall: kernel struct layout, sigsetsize must be 8, signals 32-64 usable. */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ksa {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

static void h(int s) { (void)s; }

int main(void) {
    struct ksa sa = {h, SA_RESTART, 0, 1UL << (SIGUSR2 - 1)}, old;
    CHECK(syscall(SYS_rt_sigaction, 32, &sa, 0, 8) == 0);
    memset(&old, 0x55, sizeof old);
    CHECK(syscall(SYS_rt_sigaction, 32, 0, &old, 8) == 0);
    CHECK(old.handler == h);
    CHECK(old.flags == SA_RESTART);
    CHECK(old.mask == 1UL << (SIGUSR2 - 1));
    /* SIGKILL and SIGSTOP are never kept in a handler's mask */
    sa.mask = (1UL << (SIGKILL - 1)) | (1UL << (SIGSTOP - 1)) | (1UL << (SIGINT - 1));
    CHECK(syscall(SYS_rt_sigaction, 33, &sa, &old, 8) == 0);
    CHECK(old.handler == SIG_DFL && old.flags == 0 && old.mask == 0);
    CHECK(syscall(SYS_rt_sigaction, 33, 0, &old, 8) == 0);
    CHECK(old.mask == 1UL << (SIGINT - 1));
    ERR(syscall(SYS_rt_sigaction, SIGUSR1, &sa, 0, 4), EINVAL);
    ERR(syscall(SYS_rt_sigaction, SIGUSR1, &sa, 0, 16), EINVAL);
    ERR(syscall(SYS_rt_sigaction, 0, &sa, 0, 8), EINVAL);
    ERR(syscall(SYS_rt_sigaction, 65, 0, &old, 8), EINVAL);
    ERR(syscall(SYS_rt_sigaction, SIGKILL, &sa, 0, 8), EINVAL);
    ERR(syscall(SYS_rt_sigaction, SIGSTOP, &sa, 0, 8), EINVAL);
    CHECK(syscall(SYS_rt_sigaction, SIGKILL, 0, &old, 8) == 0 && old.handler == SIG_DFL);
    CHECK(syscall(SYS_rt_sigaction, SIGUSR1, 0, 0, 8) == 0);
    /* sigprocmask: raw form and size checks */
    unsigned long set = 1UL << (SIGUSR1 - 1), got = 0;
    CHECK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, 0, 8) == 0);
    CHECK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, &got, 8) == 0);
    CHECK(got & (1UL << (SIGUSR1 - 1)));
    ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, 0, 4), EINVAL);
    ERR(syscall(SYS_rt_sigprocmask, 7, &set, 0, 8), EINVAL);
    set = ~0UL;
    CHECK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &set, &got, 8) == 0);
    CHECK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, 0, &got, 8) == 0);
    CHECK(got == (~0UL & ~((1UL << (SIGKILL - 1)) | (1UL << (SIGSTOP - 1)))));
    set = 0;
    CHECK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &set, 0, 8) == 0);
    return DONE();
}
