/* sigprocmask SIG_BLOCK/UNBLOCK/SETMASK, pending signals, delivery on unblock, standard signals coalesce, real-time ones queue. */
#include "conf.h"
#include <signal.h>
#include <unistd.h>

static volatile int usr1, usr2, rt;
static volatile int order[8], norder;
static void h(int s) {
    if (s == SIGUSR1) usr1++;
    else if (s == SIGUSR2) usr2++;
    else rt++;
    if (norder < 8) order[norder++] = s;
}

int main(void) {
    sigset_t set, old, cur, pend;
    signal(SIGUSR1, h);
    signal(SIGUSR2, h);
    signal(SIGRTMIN + 2, h);
    CHECK(sigprocmask(SIG_SETMASK, NULL, &cur) == 0);
    CHECK(sigismember(&cur, SIGUSR1) == 0);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    CHECK(sigismember(&old, SIGUSR1) == 0);
    CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGUSR1) == 1);
    CHECK(raise(SIGUSR1) == 0 && raise(SIGUSR1) == 0);
    CHECK(usr1 == 0);
    CHECK(sigpending(&pend) == 0);
    CHECK(sigismember(&pend, SIGUSR1) == 1 && sigismember(&pend, SIGUSR2) == 0);
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    CHECK(usr1 == 1); /* two raises, one delivery */
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1) == 0);

    /* real-time signals queue */
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 2);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    for (int i = 0; i < 3; i++) raise(SIGRTMIN + 2);
    CHECK(rt == 0);
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGRTMIN + 2) == 1);
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    CHECK(rt == 3);

    /* SIG_SETMASK with two pending: the lower-numbered one first (each handler blocks the other) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    CHECK(sigprocmask(SIG_SETMASK, &set, NULL) == 0);
    raise(SIGUSR2);
    raise(SIGUSR1);
    CHECK(usr1 == 1 && usr2 == 0);
    norder = 0;
    sigemptyset(&set);
    CHECK(sigprocmask(SIG_SETMASK, &set, &old) == 0);
    CHECK(sigismember(&old, SIGUSR1) == 1 && sigismember(&old, SIGUSR2) == 1);
    CHECK(usr1 == 2 && usr2 == 1);
    CHECK(norder == 2 && order[0] == SIGUSR1 && order[1] == SIGUSR2);

    /* SIGKILL and SIGSTOP cannot be blocked */
    sigfillset(&set);
    CHECK(sigprocmask(SIG_SETMASK, &set, NULL) == 0);
    CHECK(sigprocmask(SIG_SETMASK, NULL, &cur) == 0);
    CHECK(sigismember(&cur, SIGKILL) == 0 && sigismember(&cur, SIGSTOP) == 0);
    CHECK(sigismember(&cur, SIGUSR1) == 1 && sigismember(&cur, SIGRTMAX) == 1);
    ERR(sigprocmask(12345, &set, 0), EINVAL);
    sigemptyset(&set);
    CHECK(sigprocmask(SIG_SETMASK, &set, NULL) == 0);
    /* a pending ignored signal is discarded */
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR2);
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR2) == 1);
    signal(SIGUSR2, SIG_IGN);
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR2) == 0);
    signal(SIGUSR2, h);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    CHECK(usr2 == 1);
    return DONE();
}
