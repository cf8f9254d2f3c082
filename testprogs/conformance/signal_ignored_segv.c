/* A real SIGSEGV while SIGSEGV is ignored still kills the process: this program dies by SIGSEGV. */
#include "conf.h"
#include <signal.h>
#include <unistd.h>

static volatile int *volatile bad = (volatile int *)16;

int main(void) {
    CHECK(signal(SIGSEGV, SIG_IGN) == SIG_DFL);
    CHECK(raise(SIGSEGV) == 0); /* a sent one is discarded */
    CHECK(kill(getpid(), SIGSEGV) == 0);
    SAY("faulting now");
    *bad = 1;
    SAY("still alive");
    return DONE();
}
