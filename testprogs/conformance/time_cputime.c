/* CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID grow under a busy loop; clock_getcpuclockid. */
#include "conf.h"
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static long long now(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return ns(t);
}

int main(void) {
    struct timespec p0, t0, p1, t1;
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p0) == 0);
    CHECK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0) == 0);
    CHECK(p0.tv_nsec >= 0 && p0.tv_nsec < 1000000000);
    CHECK(ns(p0) < 5000000000LL);
    /* busy loop until 30 ms of CPU time are used (at most 2 s of wall time, should the CPU clock stand still) */
    long long start = now(CLOCK_MONOTONIC);
    volatile unsigned long x = 0;
    while (now(CLOCK_PROCESS_CPUTIME_ID) - ns(p0) < 30000000 && now(CLOCK_MONOTONIC) - start < 2000000000LL)
        for (int i = 0; i < 1000; i++) x += i;
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p1) == 0);
    CHECK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1) == 0);
    CHECK(ns(p1) - ns(p0) >= 30000000);
    CHECK(ns(t1) - ns(t0) >= 29000000);
    CHECK(ns(p1) - ns(p0) <= now(CLOCK_MONOTONIC) - start + 10000000);
    CHECK(ns(p1) >= ns(t1) - 1000000);
    /* never goes back */
    int ok = 1;
    long long prev = 0;
    for (int i = 0; i < 1000; i++) {
        long long v = now(CLOCK_PROCESS_CPUTIME_ID);
        if (v < prev) ok = 0;
        prev = v;
    }
    CHECK(ok);
    clockid_t cid;
    CHECK(clock_getcpuclockid(0, &cid) == 0);
    struct timespec pc;
    CHECK(clock_gettime(cid, &pc) == 0);
    CHECK(ns(pc) >= ns(p1));
    CHECK(clock_getcpuclockid(getpid(), &cid) == 0);
    CHECK(clock_gettime(cid, &pc) == 0 && ns(pc) >= ns(p1));
    return DONE();
}
