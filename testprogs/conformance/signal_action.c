/* sigaction: new and old values round-trip (handler, mask, flags), SIG_IGN/SIG_DFL, SIGKILL/SIGSTOP and bad numbers EINVAL. */
#include "conf.h"
#include <signal.h>
#include <unistd.h>

static void h1(int s) { (void)s; }
static void h2(int s, siginfo_t *si, void *uc) { (void)s, (void)si, (void)uc; }

int main(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h1;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaddset(&sa.sa_mask, SIGTERM);
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0);
    CHECK(old.sa_handler == SIG_DFL);
    CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
    CHECK(old.sa_handler == h1);
    CHECK(old.sa_flags & SA_RESTART);
    CHECK(!(old.sa_flags & (SA_SIGINFO | SA_NODEFER | SA_RESETHAND | SA_ONSTACK)));
    CHECK(sigismember(&old.sa_mask, SIGUSR2) == 1);
    CHECK(sigismember(&old.sa_mask, SIGTERM) == 1);
    CHECK(sigismember(&old.sa_mask, SIGINT) == 0);
    /* SA_SIGINFO handler, replace and read the old one back */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h2;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0);
    CHECK(old.sa_handler == h1);
    CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
    CHECK(old.sa_sigaction == h2);
    CHECK((old.sa_flags & (SA_SIGINFO | SA_NODEFER)) == (SA_SIGINFO | SA_NODEFER));
    CHECK(sigismember(&old.sa_mask, SIGUSR2) == 0);
    /* SIG_IGN and SIG_DFL */
    CHECK(signal(SIGUSR2, SIG_IGN) == SIG_DFL);
    CHECK(sigaction(SIGUSR2, NULL, &old) == 0 && old.sa_handler == SIG_IGN);
    CHECK(raise(SIGUSR2) == 0); /* ignored: nothing happens */
    CHECK(signal(SIGUSR2, SIG_DFL) == SIG_IGN);
    CHECK(sigaction(SIGUSR2, NULL, &old) == 0 && old.sa_handler == SIG_DFL);
    /* SIGKILL and SIGSTOP can be read but not changed */
    sa.sa_handler = h1;
    sa.sa_flags = 0;
    ERR(sigaction(SIGKILL, &sa, 0), EINVAL);
    ERR(sigaction(SIGSTOP, &sa, 0), EINVAL);
    sa.sa_handler = SIG_IGN;
    ERR(sigaction(SIGKILL, &sa, 0), EINVAL);
    sa.sa_handler = SIG_DFL;
    ERR(sigaction(SIGSTOP, &sa, 0), EINVAL);
    CHECK(sigaction(SIGKILL, NULL, &old) == 0 && old.sa_handler == SIG_DFL);
    CHECK(sigaction(SIGSTOP, NULL, &old) == 0 && old.sa_handler == SIG_DFL);
    CHECK(signal(SIGKILL, SIG_IGN) == SIG_ERR && errno == EINVAL);
    /* bad signal numbers */
    sa.sa_handler = h1;
    ERR(sigaction(0, &sa, 0), EINVAL);
    ERR(sigaction(-1, &sa, 0), EINVAL);
    ERR(sigaction(65, &sa, 0), EINVAL);
    ERR(sigaction(1000, 0, &old), EINVAL);
    /* the highest real-time signal is valid */
    CHECK(sigaction(64, &sa, &old) == 0 && old.sa_handler == SIG_DFL);
    CHECK(sigaction(64, NULL, &old) == 0 && old.sa_handler == h1);
    return DONE();
}
