/* pselect: readiness and timeouts with a timespec, EINVAL for bad timeouts, the signal mask applied while waiting. */
#include "conf.h"
#include <signal.h>
#include <sys/select.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr2(int s) { got = s; }

int main(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    int nfds = (p[0] > p[1] ? p[0] : p[1]) + 1;
    fd_set rs, ws;
    struct timespec zero = {0, 0}, ten = {0, 10 * 1000 * 1000};
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    CHECK(pselect(nfds, &rs, 0, 0, &zero, 0) == 0 && !FD_ISSET(p[0], &rs));
    FD_SET(p[0], &rs);
    CHECK(pselect(nfds, &rs, 0, 0, &ten, 0) == 0 && !FD_ISSET(p[0], &rs));
    /* pselect does not change its timeout */
    CHECK(ten.tv_sec == 0 && ten.tv_nsec == 10 * 1000 * 1000);
    FD_ZERO(&ws);
    FD_SET(p[1], &ws);
    CHECK(pselect(nfds, 0, &ws, 0, 0, 0) == 1 && FD_ISSET(p[1], &ws));
    CHECK(write(p[1], "ab", 2) == 2);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    CHECK(pselect(nfds, &rs, 0, 0, 0, 0) == 1 && FD_ISSET(p[0], &rs));
    struct timespec bad = {0, 1000000000};
    FD_SET(p[0], &rs);
    ERR(pselect(nfds, &rs, 0, 0, &bad, 0), EINVAL);
    struct timespec neg = {-1, 0};
    ERR(pselect(nfds, &rs, 0, 0, &neg, 0), EINVAL);
    char b[4];
    CHECK(read(p[0], b, sizeof b) == 2);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    CHECK(sigaction(SIGUSR2, &sa, 0) == 0);
    sigset_t blk, empty, cur;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR2);
    sigemptyset(&empty);
    CHECK(sigprocmask(SIG_BLOCK, &blk, 0) == 0);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(got == 0);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    ERR(pselect(nfds, &rs, 0, 0, 0, &empty), EINTR);
    CHECK(got == SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, 0, &cur) == 0 && sigismember(&cur, SIGUSR2) == 1);
    got = 0;
    CHECK(raise(SIGUSR2) == 0);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    CHECK(pselect(nfds, &rs, 0, 0, &zero, &blk) == 0);
    CHECK(got == 0);
    CHECK(sigprocmask(SIG_UNBLOCK, &blk, 0) == 0 && got == SIGUSR2);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
