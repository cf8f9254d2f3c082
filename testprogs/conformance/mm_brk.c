/* brk (raw syscall): query, grow (zeroed, writable), shrink (pages gone), refusals return the old break. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

static sigjmp_buf jb;
static void h(int s) {
    (void)s;
    siglongjmp(jb, 1);
}
static volatile char sink;
static int faults(char *p) {
    if (sigsetjmp(jb, 1) == 0) {
        sink = *(volatile char *)p;
        return 0;
    }
    return 1;
}
static char *brk_(void *a) { return (char *)syscall(SYS_brk, a); }

int main(void) {
    SAY("start"); /* let the C library set up stdout before we move the break */
    signal(SIGSEGV, h);
    char *cur = brk_(0);
    CHECK(cur != NULL && cur != (char *)-1);
    CHECK(brk_(0) == cur);
    /* start from a page boundary so whole pages come and go */
    char *base = (char *)(((uintptr_t)cur + 4095) & ~(uintptr_t)4095);
    CHECK(brk_(base) == base);
    char *top = base + 256 * 1024;
    CHECK(brk_(top) == top);
    CHECK(brk_(0) == top);
    int zero = 1;
    for (char *q = base; q < top; q += 4096) zero &= q[0] == 0 && q[4095] == 0;
    CHECK(zero);
    memset(base, 0x5a, top - base);
    CHECK(base[1000] == 0x5a && top[-1] == 0x5a);
    CHECK(!faults(top - 1));
    /* shrink: the released pages fault, the kept ones keep their data */
    CHECK(brk_(base + 4096) == base + 4096);
    CHECK(faults(base + 2 * 4096));
    CHECK(faults(top - 1));
    CHECK(!faults(base + 4095) && sink == 0x5a);
    /* grow again: fresh zero pages */
    CHECK(brk_(base + 3 * 4096) == base + 3 * 4096);
    CHECK(base[2 * 4096] == 0 && base[4096 + 5] == 0 && base[100] == 0x5a);
    /* unaligned break: the page containing it is usable */
    CHECK(brk_(base + 3 * 4096 + 10) == base + 3 * 4096 + 10);
    CHECK(!faults(base + 4 * 4096 - 1));
    /* refusals: below the start of the heap, or absurdly large: the old break is returned */
    char *now = brk_(0);
    CHECK(brk_((void *)0x1000) == now);
    CHECK(brk_((void *)0x7ffffffff000) == now);
    CHECK(brk_((void *)-4096L) == now);
    CHECK(brk_(0) == now);
    CHECK(brk_(cur) == cur);
    SAY("end");
    return DONE();
}
