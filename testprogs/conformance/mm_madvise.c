/* madvise: MADV_DONTNEED zeroes private anonymous memory but not shared; hints return 0; bad advice/alignment EINVAL, unmapped ENOMEM. */
#include "conf.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int all(const char *p, size_t n, char v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

int main(void) {
    char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 'x', 4 * 4096);
    CHECK(madvise(p + 4096, 2 * 4096, MADV_DONTNEED) == 0);
    CHECK(all(p, 4096, 'x'));
    CHECK(all(p + 4096, 2 * 4096, 0));
    CHECK(all(p + 3 * 4096, 4096, 'x'));
    p[4096] = 'y'; /* still mapped and writable */
    CHECK(p[4096] == 'y');
    CHECK(madvise(p, 4 * 4096, MADV_NORMAL) == 0);
    CHECK(madvise(p, 4 * 4096, MADV_SEQUENTIAL) == 0);
    CHECK(madvise(p, 4 * 4096, MADV_RANDOM) == 0);
    CHECK(madvise(p, 4 * 4096, MADV_WILLNEED) == 0);
    CHECK(madvise(p, 4096, MADV_DONTFORK) == 0 && madvise(p, 4096, MADV_DOFORK) == 0);
    CHECK(all(p, 4096, 'x'));
    CHECK(madvise(p, 0, MADV_DONTNEED) == 0);
    CHECK(madvise(p, 4 * 4096, 12345) == -1 && errno == EINVAL);
    CHECK(madvise(p + 1, 4096, MADV_NORMAL) == -1 && errno == EINVAL);
    ERR(syscall(SYS_madvise, p + 100, 4096, 4), EINVAL);
    /* shared anonymous memory keeps its contents */
    char *s = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(s != MAP_FAILED);
    memset(s, 's', 2 * 4096);
    CHECK(madvise(s, 2 * 4096, MADV_DONTNEED) == 0);
    CHECK(all(s, 2 * 4096, 's'));
    CHECK(munmap(s, 2 * 4096) == 0);
    /* unmapped ranges */
    CHECK(munmap(p + 2 * 4096, 4096) == 0);
    CHECK(madvise(p, 4 * 4096, MADV_NORMAL) == -1 && errno == ENOMEM);
    CHECK(madvise(p, 4 * 4096, MADV_DONTNEED) == -1 && errno == ENOMEM);
    CHECK(p[0] == 0); /* Linux still applies the advice to the mapped parts before reporting the hole */
    CHECK(munmap(p, 4 * 4096) == 0);
    return DONE();
}
