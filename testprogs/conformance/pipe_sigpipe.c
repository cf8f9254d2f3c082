/* Writing to a pipe without readers raises SIGPIPE (caught by a handler) and fails with EPIPE; blocked, it stays pending. */
#include "conf.h"
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t hits, signo;

static void on_pipe(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    signo = si->si_signo;
    (void)sig;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_pipe;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGPIPE, &sa, 0) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "a", 1) == 1);
    CHECK(hits == 0);
    CHECK(close(p[0]) == 0);
    ERR(write(p[1], "x", 1), EPIPE);
    CHECK(hits == 1);
    CHECK(signo == SIGPIPE);
    ERR(write(p[1], "yy", 2), EPIPE);
    CHECK(hits == 2);
    /* blocked: the write still fails, the signal waits */
    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    ERR(write(p[1], "z", 1), EPIPE);
    CHECK(hits == 2);
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE) == 1);
    /* a second one while pending is merged */
    ERR(write(p[1], "z", 1), EPIPE);
    CHECK(sigprocmask(SIG_SETMASK, &old, 0) == 0);
    CHECK(hits == 3);
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE) == 0);
    /* a zero-length write raises nothing */
    CHECK(write(p[1], "z", 0) == 0);
    CHECK(hits == 3);
    CHECK(close(p[1]) == 0);
    /* reading from a pipe without writers raises nothing */
    CHECK(pipe(p) == 0);
    CHECK(close(p[1]) == 0);
    char b[4];
    CHECK(read(p[0], b, sizeof b) == 0);
    CHECK(hits == 3);
    CHECK(close(p[0]) == 0);
    SAY("hits %d", (int)hits);
    return DONE();
}
