/* munmap: accessing an unmapped page gives SIGSEGV (SEGV_MAPERR, exact address); unmapping the middle of a mapping splits it. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int code;
static void *volatile addr;
static void h(int s, siginfo_t *si, void *uc) {
    (void)s, (void)uc;
    code = si->si_code;
    addr = si->si_addr;
    siglongjmp(jb, 1);
}
static volatile char sink;
static void rd(void *p) { sink = *(volatile char *)p; }
static void wr(void *p) { *(volatile char *)p = 2; }
static int faults(void (*fn)(void *), void *p) {
    code = 0;
    addr = NULL;
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
    char *p = mmap(NULL, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    for (int i = 0; i < 5; i++) p[i * 4096] = (char)('a' + i);
    CHECK(munmap(p + 2 * 4096, 4096) == 0);
    CHECK(faults(rd, p + 2 * 4096 + 10));
    CHECK(code == SEGV_MAPERR && addr == p + 2 * 4096 + 10);
    CHECK(!faults(rd, p + 4096) && sink == 'b');
    CHECK(!faults(rd, p + 3 * 4096) && sink == 'd');
    CHECK(!faults(wr, p + 4 * 4096 + 4095));
    /* unmap a range that covers a hole and two pieces */
    CHECK(munmap(p + 4096, 3 * 4096) == 0);
    CHECK(faults(rd, p + 4096));
    CHECK(faults(wr, p + 3 * 4096));
    CHECK(code == SEGV_MAPERR && addr == p + 3 * 4096);
    CHECK(!faults(rd, p) && sink == 'a');
    CHECK(!faults(rd, p + 4 * 4096) && sink == 'e');
    CHECK(munmap(p, 5 * 4096) == 0);
    CHECK(faults(rd, p));
    CHECK(faults(rd, p + 4 * 4096));
    CHECK(addr == p + 4 * 4096);
    /* a new mapping can reuse the range and is zeroed */
    char *q = mmap(p, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == p);
    CHECK(!faults(rd, q) && sink == 0);
    CHECK(munmap(q, 4096) == 0);
    return DONE();
}
