/* mprotect: PROT_READ makes writes fault (SEGV_ACCERR), PROT_NONE makes reads fault, contents survive; argument errors. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int code, faults_seen;
static void *volatile addr;
static void h(int s, siginfo_t *si, void *uc) {
    (void)s, (void)uc;
    code = si->si_code;
    addr = si->si_addr;
    faults_seen++;
    siglongjmp(jb, 1);
}
static volatile char sink;
static void rd(void *p) { sink = *(volatile char *)p; }
static void wr(void *p) { *(volatile char *)p = 'z'; }
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
    char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 'q', 3 * 4096);
    CHECK(mprotect(p + 4096, 4096, PROT_READ) == 0);
    CHECK(!faults(wr, p + 4095));
    CHECK(faults(wr, p + 4096 + 8));
    CHECK(code == SEGV_ACCERR && addr == p + 4096 + 8);
    CHECK(!faults(rd, p + 4096 + 8) && sink == 'q');
    CHECK(!faults(wr, p + 2 * 4096));
    CHECK(mprotect(p, 3 * 4096, PROT_NONE) == 0);
    CHECK(faults(rd, p));
    CHECK(code == SEGV_ACCERR && addr == p);
    CHECK(faults(rd, p + 2 * 4096 + 1));
    CHECK(addr == p + 2 * 4096 + 1);
    CHECK(mprotect(p, 3 * 4096, PROT_READ | PROT_WRITE) == 0);
    CHECK(p[4096 + 8] == 'q' && p[4095] == 'z' && p[2 * 4096] == 'z');
    CHECK(!faults(wr, p + 4096 + 8));
    /* a write-only request still allows reads on x86 */
    CHECK(mprotect(p, 4096, PROT_WRITE) == 0);
    CHECK(!faults(rd, p) && sink == 'q');
    CHECK(faults_seen == 3);
    /* errors */
    ERR(syscall(SYS_mprotect, p + 1, 4096, 1), EINVAL); /* raw: musl's mprotect() rounds the address down */
    ERR(mprotect(p, 4096, 0x100), EINVAL);
    CHECK(munmap(p + 4096, 4096) == 0);
    CHECK(mprotect(p, 3 * 4096, PROT_READ) == -1 && errno == ENOMEM);
    CHECK(mprotect((void *)0xdead0000, 4096, PROT_READ) == -1 && errno == ENOMEM);
    CHECK(mprotect(p, 0, PROT_READ) == 0);
    CHECK(munmap(p, 3 * 4096) == 0);
    return DONE();
}
