/* mincore: touched anonymous pages are resident, untouched ones are not, DONTNEED drops them; bad alignment EINVAL, holes ENOMEM. */
#include "conf.h"
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    /* guard pages on both sides keep this mapping from merging with a neighbour */
    char *g = mmap(NULL, 6 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(g != MAP_FAILED);
    char *p = g + 4096;
    CHECK(mprotect(p, 4 * 4096, PROT_READ | PROT_WRITE) == 0);
    unsigned char v[4] = {9, 9, 9, 9};
    CHECK(mincore(p, 4 * 4096, v) == 0);
    CHECK((v[0] & 1) == 0 && (v[1] & 1) == 0 && (v[2] & 1) == 0 && (v[3] & 1) == 0);
    p[0] = 1;
    p[2 * 4096 + 5] = 1;
    CHECK(mincore(p, 4 * 4096, v) == 0);
    CHECK((v[0] & 1) == 1 && (v[1] & 1) == 0 && (v[2] & 1) == 1 && (v[3] & 1) == 0);
    CHECK(madvise(p, 4 * 4096, MADV_DONTNEED) == 0);
    CHECK(mincore(p, 4 * 4096, v) == 0);
    CHECK((v[0] & 1) == 0 && (v[2] & 1) == 0);
    CHECK(mincore(p, 1, v) == 0); /* the length is rounded up */
    CHECK(mincore(p + 1, 4096, v) == -1 && errno == EINVAL);
    CHECK(munmap(p + 4096, 4096) == 0);
    CHECK(mincore(p, 4 * 4096, v) == -1 && errno == ENOMEM);
    CHECK(mincore((void *)0xdead0000, 4096, v) == -1 && errno == ENOMEM);
    CHECK(munmap(g, 6 * 4096) == 0);
    return DONE();
}
