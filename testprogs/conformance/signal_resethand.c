/* SA_RESETHAND: the disposition goes back to SIG_DFL on delivery; SA_NODEFER lets a handler be interrupted by its own signal. */
#include "conf.h"
#include <signal.h>
#include <unistd.h>

static volatile int calls, blocked_inside;
static void h(int s) {
    sigset_t cur;
    calls++;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    blocked_inside = sigismember(&cur, s);
}

int main(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_RESETHAND;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == h && (old.sa_flags & SA_RESETHAND));
    CHECK(raise(SIGUSR1) == 0);
    CHECK(calls == 1);
    CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
    CHECK(old.sa_handler == SIG_DFL);
    CHECK(blocked_inside == 1); /* Linux still blocks the signal while the one-shot handler runs */
    /* SA_RESETHAND | SA_NODEFER: not blocked inside */
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(calls == 2 && blocked_inside == 0);
    CHECK(sigaction(SIGUSR2, NULL, &old) == 0 && old.sa_handler == SIG_DFL);
    /* a default-action ignored signal after the reset does nothing */
    sa.sa_flags = SA_RESETHAND;
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    CHECK(raise(SIGCHLD) == 0 && calls == 3);
    CHECK(raise(SIGCHLD) == 0 && calls == 3);
    /* without SA_RESETHAND the handler stays */
    sa.sa_flags = 0;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    raise(SIGUSR1);
    raise(SIGUSR1);
    CHECK(calls == 5 && blocked_inside == 1);
    CHECK(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == h);
    return DONE();
}
