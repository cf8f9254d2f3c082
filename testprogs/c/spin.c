/* CPU-bound: an xorshift chain of N steps (no memory traffic). Usage: spin N.
 * Prints the result and the time the loop took (ns). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], 0, 10) : 1000000000ULL, x = 0x9e3779b97f4a7c15ULL;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (uint64_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%016llx %lld\n", (unsigned long long)x,
           (long long)((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec)));
    return 0;
}
