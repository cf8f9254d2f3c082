/* Times first touches of pages, one by one, for `lego bench miss`. Usage: missbench MODE PAGES
 * MODE: plocal (fresh anonymous pages), read (pages written once before, read again),
 * dirty (pages written once before, written again), syscall (getppid).
 * Prints: MODE COUNT P50_NS P99_NS MEAN_NS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
static inline uint64_t tsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static double ns_per_tick(void) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t c0 = tsc();
    while (tsc() - c0 < 100000000ULL) {}
    uint64_t c1 = tsc();
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    return ns / (double)(c1 - c0);
}
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    size_t n = strtoul(argv[2], 0, 10);
    uint64_t *d = malloc(n * sizeof *d);
    volatile unsigned char *p = mmap(0, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!d || p == MAP_FAILED) return 3;
    memset(d, 0, n * sizeof *d);
    double k = ns_per_tick();
    if (!strcmp(mode, "read") || !strcmp(mode, "dirty"))
        for (size_t i = 0; i < n; i++) p[i * 4096] = (unsigned char)i;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = tsc();
        if (!strcmp(mode, "read")) sum += p[i * 4096];
        else if (!strcmp(mode, "syscall")) syscall(SYS_getppid);
        else p[i * 4096] = 2;
        d[i] = tsc() - t;
    }
    qsort(d, n, sizeof *d, cmp);
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += d[i];
    mean /= n;
    printf("%s %zu %.0f %.0f %.0f %u\n", mode, n, d[n / 2] * k, d[n * 99 / 100] * k, mean * k, sum & 1);
    return 0;
}
