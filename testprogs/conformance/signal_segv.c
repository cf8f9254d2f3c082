/* SIGSEGV handlers escaping with siglongjmp: si_code MAPERR/ACCERR, si_addr is the faulting address, non-canonical addresses. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int sig, code, calls;
static void *volatile addr;
static void h(int s, siginfo_t *si, void *uc) {
    (void)uc;
    sig = s;
    code = si->si_code;
    addr = si->si_addr;
    calls++;
    siglongjmp(jb, 1);
}

static void rd(void *p) { (void)*(volatile char *)p; }
static void wr(void *p) { *(volatile char *)p = 1; }
static void run(void *p) { ((void (*)(void))p)(); }

static int faults(void (*fn)(void *), void *p) {
    sig = code = 0;
    addr = (void *)-1;
    if (sigsetjmp(jb, 1) == 0) {
        fn(p);
        return 0;
    }
    return 1;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);

    CHECK(faults(rd, NULL));
    CHECK(sig == SIGSEGV && code == SEGV_MAPERR && addr == NULL);
    CHECK(faults(wr, (void *)16));
    CHECK(sig == SIGSEGV && code == SEGV_MAPERR && addr == (void *)16);
    CHECK(faults(rd, (void *)0xdead0123));
    CHECK(sig == SIGSEGV && code == SEGV_MAPERR && addr == (void *)0xdead0123);
    CHECK(faults(rd, (void *)0xffff800000000000));
    CHECK(sig == SIGSEGV && addr == (void *)0xffff800000000000);
    CHECK(faults(wr, (void *)0xffffffffff000000));
    CHECK(sig == SIGSEGV && addr == (void *)0xffffffffff000000);
    /* a non-canonical address is a general protection fault: SI_KERNEL and no address */
    CHECK(faults(rd, (void *)0x8000000000000000));
    CHECK(sig == SIGSEGV && code == SI_KERNEL && addr == NULL);

    char *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(!faults(rd, p + 100));
    CHECK(faults(wr, p + 4097));
    CHECK(sig == SIGSEGV && code == SEGV_ACCERR && addr == p + 4097);
    CHECK(mprotect(p, 8192, PROT_NONE) == 0);
    CHECK(faults(rd, p + 5));
    CHECK(code == SEGV_ACCERR && addr == p + 5);
    /* executing a page without PROT_EXEC */
    CHECK(mprotect(p, 8192, PROT_READ | PROT_WRITE) == 0);
    p[0] = (char)0xc3; /* ret */
    CHECK(faults(run, p));
    CHECK(sig == SIGSEGV && code == SEGV_ACCERR && addr == p);
    CHECK(munmap(p, 8192) == 0);
    CHECK(faults(wr, p + 8191));
    CHECK(code == SEGV_MAPERR && addr == p + 8191);

    /* the handler's signal is unblocked again after siglongjmp(…, savemask) */
    sigset_t cur;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGSEGV) == 0);
    CHECK(calls == 10);
    return DONE();
}
