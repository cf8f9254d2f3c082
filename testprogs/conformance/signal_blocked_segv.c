/* A real SIGSEGV while SIGSEGV is blocked still kills the process (a handler is installed): this program dies by SIGSEGV. */
#include "conf.h"
#include <signal.h>
#include <unistd.h>

static void h(int s) {
    (void)s;
    static const char m[] = "handler ran\n";
    if (write(1, m, sizeof m - 1)) _exit(3);
    _exit(3);
}

static volatile int *volatile bad = (volatile int *)16;

int main(void) {
    CHECK(signal(SIGSEGV, h) == SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    CHECK(raise(SIGSEGV) == 0); /* a sent one stays pending */
    sigset_t pend;
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGSEGV) == 1);
    SAY("faulting now");
    *bad = 1;
    SAY("still alive");
    return DONE();
}
