/* sigaltstack: initially disabled, too small ENOMEM, bad flags EINVAL, SA_ONSTACK handlers run on it (SS_ONSTACK, EPERM to change), a stack overflow is caught on it. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

static char altstack[65536] __attribute__((aligned(16)));
static volatile int on_alt, flags_inside, change_err, calls;
static sigjmp_buf jb;

static int in_alt(void *p) { return (char *)p >= altstack && (char *)p < altstack + sizeof altstack; }

static void h(int s) {
    volatile int local = s;
    stack_t cur, nw = {.ss_sp = altstack, .ss_size = sizeof altstack};
    calls++;
    on_alt = in_alt((void *)&local);
    sigaltstack(NULL, &cur);
    flags_inside = cur.ss_flags;
    change_err = sigaltstack(&nw, NULL) == -1 ? errno : 0;
}

static void on_segv(int s) {
    volatile int local = s;
    on_alt = in_alt((void *)&local);
    siglongjmp(jb, 1);
}

static volatile int depth;
static int recurse(int n);
static int (*volatile rec)(int) = recurse; /* hides the endless recursion from the compiler */
static int recurse(int n) {
    volatile char buf[1024];
    buf[0] = (char)n;
    depth++;
    return rec(n + 1) + buf[0];
}

int main(void) {
    stack_t ss, old;
    CHECK(sigaltstack(NULL, &old) == 0);
    CHECK(old.ss_flags == SS_DISABLE);
    ss.ss_sp = altstack;
    ss.ss_size = 1024;
    ss.ss_flags = 0;
    ERR(sigaltstack(&ss, 0), ENOMEM);
    ss.ss_size = sizeof altstack;
    ss.ss_flags = 0x1234;
    ERR(sigaltstack(&ss, 0), EINVAL);
    ss.ss_flags = 0;
    CHECK(sigaltstack(&ss, &old) == 0);
    CHECK(old.ss_flags == SS_DISABLE);
    CHECK(sigaltstack(NULL, &old) == 0);
    CHECK(old.ss_sp == altstack && old.ss_size == sizeof altstack && old.ss_flags == 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_ONSTACK;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sa.sa_flags = 0;
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(calls == 1 && on_alt == 1);
    CHECK(flags_inside == SS_ONSTACK);
    CHECK(change_err == EPERM);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(calls == 2 && on_alt == 0);
    CHECK(flags_inside == 0);
    CHECK(change_err == 0);

    /* a stack overflow: the SIGSEGV handler can only run on the alternate stack */
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 2 << 20) rl.rlim_cur = 2 << 20;
    CHECK(setrlimit(RLIMIT_STACK, &rl) == 0);
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_ONSTACK;
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    on_alt = 0;
    if (sigsetjmp(jb, 1) == 0) {
        recurse(0);
        CHECK(!"returned from infinite recursion");
    }
    CHECK(on_alt == 1);
    CHECK(depth > 100);
    CHECK(sigaltstack(NULL, &old) == 0 && old.ss_flags == 0); /* left the alternate stack by siglongjmp */

    /* SS_AUTODISARM: the stack is disabled while the handler runs on it */
    ss.ss_flags = SS_AUTODISARM;
    CHECK(sigaltstack(&ss, NULL) == 0);
    CHECK(sigaltstack(NULL, &old) == 0 && old.ss_flags == (int)SS_AUTODISARM);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(calls == 3 && on_alt == 1);
    CHECK(flags_inside == SS_DISABLE);
    CHECK(change_err == 0);
    ss.ss_flags = SS_DISABLE;
    CHECK(sigaltstack(&ss, NULL) == 0);
    CHECK(sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(calls == 4 && on_alt == 0);
    return DONE();
}
