/* Allocates and touches memory until it fails: prints how far it got. Usage: alloc MIB_STEP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    size_t step = (argc > 1 ? strtoul(argv[1], 0, 10) : 64) << 20, total = 0;
    for (;;) {
        char *p = malloc(step);
        if (!p) { printf("malloc failed after %zu MiB\n", total >> 20); return 0; }
        memset(p, 0x33, step);
        total += step;
        printf("%zu MiB\n", total >> 20);
        fflush(stdout);
    }
}
