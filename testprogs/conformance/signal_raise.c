/* raise and kill to self run the handler before returning; the handler changes a global and returns. */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t count, last;
static void h(int s) {
    count++;
    last = s;
}

int main(void) {
    signal(SIGUSR1, h);
    signal(SIGUSR2, h);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(count == 1 && last == SIGUSR1);
    CHECK(kill(getpid(), SIGUSR2) == 0);
    CHECK(count == 2 && last == SIGUSR2);
    CHECK(syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1) == 0);
    CHECK(count == 3 && last == SIGUSR1);
    CHECK(syscall(SYS_tkill, getpid(), SIGUSR2) == 0);
    CHECK(count == 4 && last == SIGUSR2);
    CHECK(signal(SIGRTMIN + 1, h) == SIG_DFL);
    CHECK(raise(SIGRTMIN + 1) == 0);
    CHECK(count == 5 && last == SIGRTMIN + 1);
    CHECK(raise(0) == 0);
    CHECK(count == 5);
    for (int i = 0; i < 100; i++) raise(SIGUSR1);
    CHECK(count == 105);
    /* a handler for SIGTERM too (sent to our pid only: the process group may hold other programs) */
    signal(SIGTERM, h);
    CHECK(kill(getpid(), SIGTERM) == 0);
    CHECK(count == 106 && last == SIGTERM);
    CHECK(raise(SIGCHLD) == 0); /* default action: ignore */
    CHECK(raise(SIGWINCH) == 0);
    CHECK(count == 106);
    return DONE();
}
