/* Floating point kept in registers for a long time: ./fp SEED ITERATIONS prints a result that
 * only matches the native run if nothing else's SSE or x87 state leaked into ours while we
 * were preempted (two of these run side by side on one pComponent in the tests). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    double seed = argc > 1 ? atof(argv[1]) : 1.0;
    long n = argc > 2 ? atol(argv[2]) : 100000000L;
    double x = seed, y = seed * 0.5, z = 1.0 / (seed + 1.0);
    long double w = seed; /* the x87 stack too */
    for (long i = 0; i < n; i++) {
        x = x * 0.9999999 + 1e-7 * (double)(i & 7);
        y = y * 0.99999991 + z * 1e-8;
        w = w * 0.99999993L + 1e-9L;
    }
    printf("%.17g %.17g %.17Lg\n", x, y, w);
    return 0;
}
