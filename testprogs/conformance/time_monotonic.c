/* CLOCK_MONOTONIC, MONOTONIC_RAW, MONOTONIC_COARSE and BOOTTIME never go back over 1000 reads. */
#include "conf.h"
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static int never_back(clockid_t c) {
    struct timespec t;
    long long prev = -1;
    for (int i = 0; i < 1000; i++) {
        if (clock_gettime(c, &t) != 0) return 0;
        if (t.tv_nsec < 0 || t.tv_nsec >= 1000000000) return 0;
        if (ns(t) < prev) return 0;
        prev = ns(t);
    }
    return 1;
}

int main(void) {
    struct timespec m, b, r, c;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &m) == 0);
    CHECK(m.tv_sec > 0 || m.tv_nsec > 0);
    CHECK(never_back(CLOCK_MONOTONIC));
    CHECK(never_back(CLOCK_MONOTONIC_RAW));
    CHECK(never_back(CLOCK_MONOTONIC_COARSE));
    CHECK(never_back(CLOCK_BOOTTIME));
    CHECK(never_back(CLOCK_REALTIME_COARSE));
    CHECK(clock_gettime(CLOCK_BOOTTIME, &b) == 0);
    CHECK(ns(b) >= ns(m)); /* boot time also counts suspend */
    CHECK(clock_gettime(CLOCK_MONOTONIC_RAW, &r) == 0);
    CHECK(r.tv_sec > 0 || r.tv_nsec > 0);
    /* read back to back: the reads above may take a while on a loaded machine */
    CHECK(clock_gettime(CLOCK_MONOTONIC, &m) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC_COARSE, &c) == 0);
    CHECK(c.tv_sec >= m.tv_sec - 1 && c.tv_sec <= m.tv_sec + 1);
    /* the monotonic clock advances: spin until it moves by 1 ms */
    struct timespec s, e;
    clock_gettime(CLOCK_MONOTONIC, &s);
    long spins = 0;
    do {
        clock_gettime(CLOCK_MONOTONIC, &e);
        spins++;
    } while (ns(e) - ns(s) < 1000000 && spins < 100000000);
    CHECK(ns(e) - ns(s) >= 1000000);
    return DONE();
}
