/* Anonymous private mmap: fresh memory is zero, writable, page-aligned; 32 MiB touched; argument errors EINVAL/EBADF. */
#include "conf.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int all(const unsigned char *p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

int main(void) {
    CHECK(sysconf(_SC_PAGESIZE) == 4096);
    unsigned char *p = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(((uintptr_t)p & 4095) == 0);
    CHECK(all(p, 16384, 0));
    memset(p, 0xab, 16384);
    CHECK(all(p, 16384, 0xab));
    CHECK(munmap(p, 16384) == 0);
    /* an unaligned length is rounded up to a page */
    p = mmap(NULL, 100, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(all(p, 4096, 0));
    p[4095] = 1;
    CHECK(munmap(p, 100) == 0);
    /* a larger mapping, every page touched */
    size_t big = 32u << 20;
    p = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    int zero = 1;
    for (size_t i = 0; i < big; i += 4096) {
        zero &= p[i] == 0 && p[i + 4095] == 0;
        p[i] = (unsigned char)(i >> 12);
    }
    CHECK(zero);
    int kept = 1;
    for (size_t i = 0; i < big; i += 4096) kept &= p[i] == (unsigned char)(i >> 12);
    CHECK(kept);
    CHECK(munmap(p, big) == 0);
    /* MAP_ANONYMOUS with a stray fd is fine; a hint is only a hint */
    p = mmap((void *)0x12345, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 7, 0);
    CHECK(p != MAP_FAILED && ((uintptr_t)p & 4095) == 0);
    CHECK(munmap(p, 4096) == 0);
    CHECK(munmap(p, 4096) == 0); /* unmapping nothing is not an error */
    /* errors */
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    CHECK(mmap((void *)0x10001000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 1) == MAP_FAILED &&
          errno == EINVAL);
    CHECK(mmap((void *)0x10000100, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED &&
          errno == EINVAL);
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0) == MAP_FAILED && errno == EBADF);
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 555, 0) == MAP_FAILED && errno == EBADF);
    CHECK(mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == ENOMEM);
    CHECK(syscall(SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 && errno == EINVAL);
    ERR(munmap((void *)0x10000001, 4096), EINVAL);
    ERR(munmap((void *)0x10000000, 0), EINVAL);
    ERR(syscall(SYS_munmap, 0xffff800000000000UL, 4096), EINVAL);
    return DONE();
}
