/* mlock, munlock, mlockall, msync and mincore: argument checks and what they report. */
#include "conf.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    char *p = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(mlock(p, 8 * 4096) == 0);
    CHECK(mlock(p + 100, 10) == 0);
    CHECK(munlock(p, 8 * 4096) == 0);
    CHECK(syscall(SYS_mlock2, p, 4096, 1) == 0);
    ERR(syscall(SYS_mlock2, p, 4096, 2), EINVAL);
    CHECK(munmap(p + 4 * 4096, 4096) == 0);
    ERR(mlock(p, 8 * 4096), ENOMEM);
    CHECK(mlockall(MCL_CURRENT) == 0 && munlockall() == 0);
    ERR(mlockall(0), EINVAL);
    ERR(mlockall(MCL_ONFAULT), EINVAL);
    CHECK(msync(p, 4096, MS_SYNC) == 0 && msync(p, 4096, MS_ASYNC) == 0);
    ERR(msync(p + 1, 4096, MS_SYNC), EINVAL);
    ERR(msync(p, 4096, MS_SYNC | MS_ASYNC), EINVAL);
    ERR(msync(p, 8 * 4096, MS_SYNC), ENOMEM);
    /* mincore: a written page is resident, one never touched is not (a fresh mapping: the
     * locks above brought the first one's pages in). */
    char *q = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(q != MAP_FAILED);
    q[0] = 1;
    q[2 * 4096] = 1;
    unsigned char v[4];
    CHECK(mincore(q, 4 * 4096, v) == 0);
    SAY("mincore %d %d %d %d", v[0] & 1, v[1] & 1, v[2] & 1, v[3] & 1);
    ERR(mincore(q + 1, 4096, v), EINVAL);
    ERR(mincore(p, 8 * 4096, v), ENOMEM);
    ERR(mincore(p, 4096, (void *)8), EFAULT);
    return DONE();
}
