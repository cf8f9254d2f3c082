/* mremap: grow with MREMAP_MAYMOVE keeps the contents and zero-fills, shrink, grow in place blocked (ENOMEM), MREMAP_FIXED, errors. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static sigjmp_buf jb;
static void h(int s) {
    (void)s;
    siglongjmp(jb, 1);
}
static volatile char sink;
static int faults(void *p) {
    if (sigsetjmp(jb, 1) == 0) {
        sink = *(volatile char *)p;
        return 0;
    }
    return 1;
}
static int pattern_ok(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (char)(i * 7)) return 0;
    return 1;
}

int main(void) {
    signal(SIGSEGV, h);
    char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    for (size_t i = 0; i < 2 * 4096; i++) p[i] = (char)(i * 7);
    /* block growth in place with a neighbour (inside our own mapping: Linux refuses MAP_FIXED over [vvar]) */
    char *guard = mmap(p + 2 * 4096, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(guard == p + 2 * 4096);
    CHECK(mremap(p, 2 * 4096, 8 * 4096, 0) == MAP_FAILED && errno == ENOMEM);
    char *q = mremap(p, 2 * 4096, 64 * 4096, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED);
    CHECK(q != p);
    CHECK(pattern_ok(q, 2 * 4096));
    int zero = 1;
    for (size_t i = 2 * 4096; i < 64 * 4096; i++) zero &= q[i] == 0;
    CHECK(zero);
    CHECK(faults(p)); /* the old range is gone */
    q[64 * 4096 - 1] = 5;
    /* shrink in place */
    char *r = mremap(q, 64 * 4096, 4096, 0);
    CHECK(r == q);
    CHECK(pattern_ok(r, 4096));
    CHECK(faults(q + 4096));
    /* grow in place when there is room: unmap what follows first */
    CHECK(munmap(q + 4096, 3 * 4096) == 0);
    r = mremap(q, 4096, 4 * 4096, 0);
    CHECK(r == q);
    CHECK(pattern_ok(r, 4096) && r[3 * 4096] == 0);
    /* MREMAP_FIXED to a chosen address */
    char *dst = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(dst != MAP_FAILED);
    char *f = mremap(r, 4 * 4096, 4 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    CHECK(f == dst);
    CHECK(pattern_ok(f, 4096));
    CHECK(faults(r));
    /* errors */
    CHECK(mremap(f + 1, 4096, 8192, MREMAP_MAYMOVE) == MAP_FAILED && errno == EINVAL);
    CHECK(mremap(f, 4096, 0, MREMAP_MAYMOVE) == MAP_FAILED && errno == EINVAL);
    CHECK(mremap(f, 4096, 8192, 0x80) == MAP_FAILED && errno == EINVAL);
    CHECK(mremap(f, 4096, 8192, MREMAP_FIXED) == MAP_FAILED && errno == EINVAL);
    CHECK(mremap((void *)0xdead0000, 4096, 8192, MREMAP_MAYMOVE) == MAP_FAILED && errno == EFAULT);
    ERR(syscall(SYS_mremap, f, 4096, 0, MREMAP_MAYMOVE, 0), EINVAL);
    CHECK(munmap(f, 4 * 4096) == 0 && munmap(guard, 4096) == 0);
    return DONE();
}
