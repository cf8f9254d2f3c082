/* times() and getrusage(RUSAGE_SELF) account a busy loop as CPU time; RUSAGE_CHILDREN is zero. */
#include "conf.h"
#include <sys/resource.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

static long long now(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static long long tv_us(struct timeval t) { return t.tv_sec * 1000000LL + t.tv_usec; }

int main(void) {
    struct tms a, b;
    struct rusage ra, rb, rc;
    CHECK(sysconf(_SC_CLK_TCK) == 100);
    clock_t c0 = times(&a);
    CHECK(c0 != (clock_t)-1);
    CHECK(getrusage(RUSAGE_SELF, &ra) == 0);
    CHECK(getrusage(RUSAGE_CHILDREN, &rc) == 0);
    CHECK(tv_us(rc.ru_utime) == 0 && tv_us(rc.ru_stime) == 0);
    CHECK(a.tms_cutime == 0 && a.tms_cstime == 0);
    /* burn 60 ms of CPU time */
    long long s = now(CLOCK_PROCESS_CPUTIME_ID), w = now(CLOCK_MONOTONIC);
    volatile unsigned long x = 0;
    while (now(CLOCK_PROCESS_CPUTIME_ID) - s < 60000000 && now(CLOCK_MONOTONIC) - w < 2000000000LL)
        for (int i = 0; i < 1000; i++) x += i;
    clock_t c1 = times(&b);
    CHECK(c1 != (clock_t)-1 && c1 >= c0);
    CHECK(getrusage(RUSAGE_SELF, &rb) == 0);
    CHECK((b.tms_utime + b.tms_stime) - (a.tms_utime + a.tms_stime) >= 2);
    CHECK(b.tms_utime >= a.tms_utime && b.tms_stime >= a.tms_stime);
    CHECK(tv_us(rb.ru_utime) + tv_us(rb.ru_stime) - tv_us(ra.ru_utime) - tv_us(ra.ru_stime) >= 20000);
    CHECK(tv_us(rb.ru_utime) >= tv_us(ra.ru_utime));
    CHECK(rb.ru_utime.tv_usec >= 0 && rb.ru_utime.tv_usec < 1000000);
    CHECK(rb.ru_maxrss > 0);
    CHECK(times(NULL) != (clock_t)-1);
    ERR(getrusage(12345, &rb), EINVAL);
    CHECK(getrusage(RUSAGE_THREAD, &rb) == 0);
    CHECK(tv_us(rb.ru_utime) + tv_us(rb.ru_stime) >= 20000);
    return DONE();
}
