/* clock_nanosleep: relative and TIMER_ABSTIME sleeps, past deadlines, errors returned (not in errno). */
#include "conf.h"
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static struct timespec ts(long long n) { return (struct timespec){n / 1000000000, n % 1000000000}; }
static long long now(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return ns(t);
}

int main(void) {
    long long s = now(CLOCK_MONOTONIC);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 10000000}, NULL) == 0);
    CHECK(now(CLOCK_MONOTONIC) - s >= 10000000);
    /* absolute deadline 10 ms ahead */
    long long target = now(CLOCK_MONOTONIC) + 10000000;
    struct timespec t = ts(target);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == 0);
    CHECK(now(CLOCK_MONOTONIC) >= target);
    /* a deadline in the past returns at once */
    s = now(CLOCK_MONOTONIC);
    t = ts(s - 1000000000LL);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == 0);
    t = ts(0);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == 0);
    CHECK(now(CLOCK_MONOTONIC) - s < 500000000);
    /* realtime absolute */
    target = now(CLOCK_REALTIME) + 5000000;
    t = ts(target);
    CHECK(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, NULL) == 0);
    CHECK(now(CLOCK_REALTIME) >= target);
    target = now(CLOCK_BOOTTIME) + 5000000;
    t = ts(target);
    CHECK(clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &t, NULL) == 0);
    CHECK(now(CLOCK_BOOTTIME) >= target);
    /* errors are returned, errno is untouched */
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 1000000000}, NULL) == EINVAL);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, -5}, NULL) == EINVAL);
    CHECK(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &(struct timespec){0, 1}, NULL) == EINVAL);
    CHECK(clock_nanosleep(555, 0, &(struct timespec){0, 1}, NULL) == EINVAL);
    ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &(struct timespec){0, 1000000000}, 0), EINVAL);
    ERR(syscall(SYS_clock_nanosleep, 555, 0, &(struct timespec){0, 1}, 0), EINVAL);
    CHECK(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &(struct timespec){0, 1000}, NULL) == 0);
    return DONE();
}
