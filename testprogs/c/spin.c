/* CPU-bound: an xorshift chain of N steps (no memory traffic). Usage: spin N. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], 0, 10) : 1000000000ULL, x = 0x9e3779b97f4a7c15ULL;
    for (uint64_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
    printf("%016llx\n", (unsigned long long)x);
    return 0;
}
