/* abort() runs a SIGABRT handler that returns, then still ends the process: this program dies by SIGABRT. */
#include "conf.h"
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static volatile int calls;
static void h(int s) {
    (void)s;
    calls++;
    static const char m[] = "handler ran\n";
    if (write(1, m, sizeof m - 1)) calls += 0;
}
static void at_exit(void) { SAY("atexit ran (wrong)"); }

int main(void) {
    atexit(at_exit);
    CHECK(signal(SIGABRT, h) == SIG_DFL);
    CHECK(raise(SIGABRT) == 0 && calls == 1); /* an ordinary SIGABRT only runs the handler */
    SAY("calling abort");
    abort();
    SAY("abort returned");
    return DONE();
}
