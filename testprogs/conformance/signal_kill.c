/* kill/tkill/tgkill argument checks: signal 0 probes, unknown pids ESRCH, bad signals EINVAL. */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    pid_t p = getpid();
    CHECK(kill(p, 0) == 0);
    CHECK(kill(0, 0) == 0);
    CHECK(kill(-getpgrp(), 0) == 0);
    ERR(kill(999999, 0), ESRCH);
    ERR(kill(999999, SIGKILL), ESRCH);
    ERR(kill(-999999, 0), ESRCH);
    ERR(kill(p, 65), EINVAL);
    ERR(kill(p, -1), EINVAL);
    ERR(kill(999999, 65), ESRCH); /* the target is looked up before the signal number is checked */
    CHECK(syscall(SYS_tgkill, p, p, 0) == 0);
    ERR(syscall(SYS_tgkill, p, 999999, 0), ESRCH);
    ERR(syscall(SYS_tgkill, 999999, p, 0), ESRCH);
    ERR(syscall(SYS_tgkill, 0, p, 0), EINVAL);
    ERR(syscall(SYS_tgkill, p, 0, 0), EINVAL);
    ERR(syscall(SYS_tgkill, p, -1, 0), EINVAL);
    ERR(syscall(SYS_tgkill, p, p, 65), EINVAL);
    CHECK(syscall(SYS_tkill, p, 0) == 0);
    ERR(syscall(SYS_tkill, 0, 0), EINVAL);
    ERR(syscall(SYS_tkill, 999999, 0), ESRCH);
    ERR(syscall(SYS_tkill, p, 100), EINVAL);
    ERR(raise(65), EINVAL);
    ERR(sigqueue(999999, SIGUSR1, (union sigval){0}), ESRCH);
    return DONE();
}
