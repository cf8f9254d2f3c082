/* A handler that raises its own signal: nested at once with SA_NODEFER, deferred until return without it. */
#include "conf.h"
#include <signal.h>
#include <unistd.h>

/* volatile: glibc declares raise() as a leaf function, so the compiler may cache globals across it */
static volatile int depth, maxdepth, calls, trace[8], ntrace;
static void h(int s) {
    depth++;
    calls++;
    if (depth > maxdepth) maxdepth = depth;
    if (ntrace < 8) trace[ntrace++] = depth;
    if (calls == 1) raise(s);
    if (ntrace < 8) trace[ntrace++] = -depth;
    depth--;
}

static void reset(void) { depth = maxdepth = calls = ntrace = 0; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_NODEFER;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(calls == 2);
    CHECK(maxdepth == 2);
    CHECK(ntrace == 4 && trace[0] == 1 && trace[1] == 2 && trace[2] == -2 && trace[3] == -1);

    reset();
    sa.sa_flags = 0;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(calls == 2);
    CHECK(maxdepth == 1);
    CHECK(ntrace == 4 && trace[0] == 1 && trace[1] == -1 && trace[2] == 1 && trace[3] == -1);

    /* sa_mask: another signal raised inside the handler waits until it returns */
    reset();
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(calls == 2 && maxdepth == 1);
    /* the mask after the handlers is the original one */
    sigset_t cur;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0);
    CHECK(sigismember(&cur, SIGUSR1) == 0 && sigismember(&cur, SIGUSR2) == 0);
    return DONE();
}
