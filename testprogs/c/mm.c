/* mmap, munmap, mremap, mprotect, madvise and brk, checked from inside. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s\n", __LINE__, #c); return 1; } } while (0)
int main(void) {
    long pg = 4096;
    /* anonymous: zero, writable */
    unsigned char *p = mmap(0, 64 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    for (int i = 0; i < 64 * pg; i++) CHECK(p[i] == 0);
    for (int i = 0; i < 64; i++) memset(p + i * pg, i + 1, pg);
    for (int i = 0; i < 64; i++) CHECK(p[i * pg + 17] == i + 1);
    printf("mmap anon ok\n");
    /* munmap the middle, map again: zeros */
    CHECK(munmap(p + 16 * pg, 16 * pg) == 0);
    unsigned char *q = mmap(p + 16 * pg, 16 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == p + 16 * pg);
    CHECK(q[0] == 0 && q[16 * pg - 1] == 0);
    CHECK(p[15 * pg] == 16 && p[32 * pg] == 33);
    printf("munmap ok\n");
    /* mremap: grow, keep the data (may move) */
    unsigned char *r = mremap(p, 64 * pg, 1024 * pg, MREMAP_MAYMOVE);
    CHECK(r != MAP_FAILED);
    CHECK(r[5 * pg] == 6 && r[63 * pg + 100] == 64 && r[1000 * pg] == 0);
    r[1023 * pg] = 9;
    CHECK(r[1023 * pg] == 9);
    unsigned char *r2 = mremap(r, 1024 * pg, 2 * pg, 0);
    CHECK(r2 == r && r2[pg] == 2);
    printf("mremap ok\n");
    /* mprotect: read-only then back */
    CHECK(mprotect(r2, 2 * pg, PROT_READ) == 0);
    CHECK(r2[pg] == 2);
    CHECK(mprotect(r2, 2 * pg, PROT_READ | PROT_WRITE) == 0);
    r2[pg] = 77;
    CHECK(r2[pg] == 77);
    printf("mprotect ok\n");
    /* madvise(DONTNEED): anonymous pages read as zero again */
    CHECK(madvise(r2, 2 * pg, MADV_DONTNEED) == 0);
    CHECK(r2[pg] == 0);
    printf("madvise ok\n");
    /* brk: grow, write, shrink */
    uintptr_t b0 = syscall(SYS_brk, 0);
    uintptr_t b1 = syscall(SYS_brk, b0 + 300 * pg);
    CHECK(b1 == b0 + 300 * pg);
    memset((void *)b0, 0x5a, 300 * pg);
    CHECK(((unsigned char *)b0)[299 * pg] == 0x5a);
    uintptr_t b2 = syscall(SYS_brk, b0 + pg);
    CHECK(b2 == b0 + pg);
    uintptr_t b3 = syscall(SYS_brk, b0 + 8 * pg);
    CHECK(b3 == b0 + 8 * pg);
    CHECK(((unsigned char *)b0)[5 * pg] == 0);
    printf("brk ok\n");
    /* errors as Linux gives them */
    CHECK(mmap(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
    CHECK(munmap((void *)1, pg) == -1);
    printf("errors ok\n");
    return 0;
}
