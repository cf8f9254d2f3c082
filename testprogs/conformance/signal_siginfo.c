/* SA_SIGINFO handlers: si_signo, si_code (SI_USER for kill, SI_TKILL for raise/tgkill, SI_QUEUE), si_pid, si_uid, si_value. */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile siginfo_t got;
static volatile int calls, ctx_ok;
static void h(int s, siginfo_t *si, void *uc) {
    calls++;
    got = *si;
    ctx_ok = uc != NULL && si->si_signo == s;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(sigaction(SIGRTMIN + 3, &sa, NULL) == 0);

    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(calls == 1 && ctx_ok);
    CHECK(got.si_signo == SIGUSR1);
    CHECK(got.si_code == SI_USER);
    CHECK(got.si_pid == getpid());
    CHECK(got.si_uid == getuid());
    CHECK(got.si_errno == 0);

    CHECK(raise(SIGUSR1) == 0);
    CHECK(calls == 2 && got.si_signo == SIGUSR1);
    CHECK(got.si_code == SI_TKILL);
    CHECK(got.si_pid == getpid() && got.si_uid == getuid());

    CHECK(syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1) == 0);
    CHECK(calls == 3 && got.si_code == SI_TKILL);

    CHECK(sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 4242}) == 0);
    CHECK(calls == 4 && got.si_code == SI_QUEUE);
    CHECK(got.si_value.sival_int == 4242);
    CHECK(got.si_pid == getpid());

    CHECK(sigqueue(getpid(), SIGRTMIN + 3, (union sigval){.sival_int = -7}) == 0);
    CHECK(calls == 5 && got.si_signo == SIGRTMIN + 3);
    CHECK(got.si_code == SI_QUEUE && got.si_value.sival_int == -7);

    /* rt_sigqueueinfo may not forge kernel codes for another process, but a negative code is fine for self */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 99;
    si.si_pid = getpid();
    si.si_uid = getuid();
    CHECK(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si) == 0);
    CHECK(calls == 6 && got.si_code == SI_QUEUE && got.si_value.sival_int == 99);
    /* codes >= 0 (or SI_TKILL) may only be sent to oneself; checked before the pid is looked up */
    si.si_code = SI_USER;
    ERR(syscall(SYS_rt_sigqueueinfo, 999999, SIGUSR1, &si), EPERM);
    si.si_code = SI_KERNEL;
    ERR(syscall(SYS_rt_sigqueueinfo, 999999, SIGUSR1, &si), EPERM);
    si.si_code = SI_QUEUE;
    ERR(syscall(SYS_rt_sigqueueinfo, 999999, SIGUSR1, &si), ESRCH);
    CHECK(calls == 6);
    si.si_code = SI_USER;
    CHECK(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si) == 0);
    CHECK(calls == 7 && got.si_code == SI_USER && got.si_value.sival_int == 99);
    return DONE();
}
