/* sigtimedwait/sigwaitinfo/sigwait take blocked pending signals synchronously; timeouts give EAGAIN; queued real-time values in order. */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int handled;
static void h(int s) { (void)s, handled++; }
static long long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    sigset_t set;
    siginfo_t si;
    signal(SIGUSR1, h);
    signal(SIGUSR2, h);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN + 4);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);

    CHECK(raise(SIGUSR1) == 0);
    struct timespec zero = {0, 0}, ten_ms = {0, 10000000};
    memset(&si, 0, sizeof si);
    /* raw syscall: glibc's sigtimedwait() rewrites SI_TKILL to SI_USER, musl's does not */
    CHECK(syscall(SYS_rt_sigtimedwait, &set, &si, &zero, 8) == SIGUSR1);
    CHECK(si.si_signo == SIGUSR1 && si.si_code == SI_TKILL && si.si_pid == getpid());
    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(sigtimedwait(&set, &si, &zero) == SIGUSR1);
    CHECK(si.si_signo == SIGUSR1 && si.si_code == SI_USER && si.si_uid == getuid());
    CHECK(handled == 0);
    ERR(sigtimedwait(&set, &si, &zero), EAGAIN);
    long long s = now();
    ERR(sigtimedwait(&set, &si, &ten_ms), EAGAIN);
    CHECK(now() - s >= 10000000);
    /* two standard signals pending: the lower number comes first */
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    CHECK(sigwaitinfo(&set, &si) == SIGUSR1 && si.si_code == SI_USER);
    int sig = 0;
    CHECK(sigwait(&set, &sig) == 0 && sig == SIGUSR2);
    /* queued real-time signals keep their order and values */
    for (int i = 1; i <= 3; i++) sigqueue(getpid(), SIGRTMIN + 4, (union sigval){.sival_int = i * 11});
    int ok = 1;
    for (int i = 1; i <= 3; i++) {
        if (sigtimedwait(&set, &si, &zero) != SIGRTMIN + 4) ok = 0;
        if (si.si_code != SI_QUEUE || si.si_value.sival_int != i * 11) ok = 0;
    }
    CHECK(ok);
    ERR(sigtimedwait(&set, &si, &zero), EAGAIN);
    /* a pending signal outside the wait set stays pending */
    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    raise(SIGUSR2);
    ERR(sigtimedwait(&only1, &si, &zero), EAGAIN);
    sigset_t pend;
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR2) == 1);
    CHECK(sigtimedwait(&set, NULL, &zero) == SIGUSR2);
    /* bad timeout */
    struct timespec bad = {0, 1000000000};
    ERR(sigtimedwait(&set, &si, &bad), EINVAL);
    ERR(syscall(SYS_rt_sigtimedwait, &set, &si, &zero, 4), EINVAL);
    CHECK(handled == 0);
    return DONE();
}
