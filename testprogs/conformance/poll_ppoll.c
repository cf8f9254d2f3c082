/* ppoll: timespec timeouts (NULL, zero, 10 ms), EINVAL for a bad timespec, the signal mask applied while waiting. */
#include "conf.h"
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr1(int s) { got = s; }

int main(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd r = {p[0], POLLIN, 0}, w = {p[1], POLLOUT, 0};
    struct timespec zero = {0, 0}, ten = {0, 10 * 1000 * 1000};
    CHECK(ppoll(&r, 1, &zero, 0) == 0 && r.revents == 0);
    CHECK(ppoll(&r, 1, &ten, 0) == 0 && r.revents == 0);
    CHECK(ppoll(&w, 1, 0, 0) == 1 && w.revents == POLLOUT);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(ppoll(&r, 1, 0, 0) == 1 && r.revents == POLLIN);
    CHECK(ppoll(&r, 1, &zero, 0) == 1 && r.revents == POLLIN);
    struct timespec badns = {0, 1000000000}, negs = {-1, 0};
    ERR(ppoll(&r, 1, &badns, 0), EINVAL);
    ERR(ppoll(&r, 1, &negs, 0), EINVAL);
    char b[2];
    CHECK(read(p[0], b, 2) == 1);
    /* a blocked pending signal is delivered when ppoll's mask unblocks it */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
    sigset_t blk, empty;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    sigemptyset(&empty);
    CHECK(sigprocmask(SIG_BLOCK, &blk, 0) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(got == 0);
    ERR(ppoll(&r, 1, 0, &empty), EINTR);
    CHECK(got == SIGUSR1);
    /* the old mask is back: still blocked */
    sigset_t cur;
    CHECK(sigprocmask(SIG_BLOCK, 0, &cur) == 0 && sigismember(&cur, SIGUSR1) == 1);
    /* a mask that keeps it blocked: ppoll just times out */
    got = 0;
    CHECK(raise(SIGUSR1) == 0);
    CHECK(ppoll(&r, 1, &zero, &blk) == 0);
    CHECK(got == 0);
    CHECK(sigprocmask(SIG_UNBLOCK, &blk, 0) == 0);
    CHECK(got == SIGUSR1);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
