/* Sorts N pseudo-random 32-bit integers (a working set of 4N bytes plus a merge buffer of as
 * much) and prints a digest: the same output wherever it runs. Usage: sort N [SEED]. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
static void msort(uint32_t *a, uint32_t *t, size_t n) {
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) t[k++] = a[i] <= a[j] ? a[i++] : a[j++];
            while (i < mid) t[k++] = a[i++];
            while (j < hi) t[k++] = a[j++];
        }
        uint32_t *x = a; a = t; t = x;
        for (size_t i = 0; i < n; i++) t[i] = a[i];
    }
}
int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoul(argv[1], 0, 10) : 1000000;
    uint64_t s = argc > 2 ? strtoull(argv[2], 0, 10) : 42;
    uint32_t *a = malloc(n * 4), *t = malloc(n * 4);
    if (!a || !t) { fprintf(stderr, "out of memory\n"); return 1; }
    for (size_t i = 0; i < n; i++) { s = s * 6364136223846793005ULL + 1442695040888963407ULL; a[i] = s >> 33; }
    msort(a, t, n);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        if (i && a[i - 1] > a[i]) { printf("NOT SORTED at %zu\n", i); return 3; }
        h = (h ^ a[i]) * 1099511628211ULL;
    }
    printf("sorted %zu: min %u max %u median %u digest %016llx\n", n, a[0], a[n - 1], a[n / 2],
           (unsigned long long)h);
    return 0;
}
