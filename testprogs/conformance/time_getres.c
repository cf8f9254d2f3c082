/* clock_getres for every common clock; invalid clock ids give EINVAL. */
#include "conf.h"
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int res_ok(clockid_t c) {
    struct timespec r = {-1, -1};
    if (clock_getres(c, &r) != 0) return 0;
    return r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 10000000;
}

int main(void) {
    struct timespec r, t;
    CHECK(res_ok(CLOCK_REALTIME));
    CHECK(res_ok(CLOCK_MONOTONIC));
    CHECK(res_ok(CLOCK_PROCESS_CPUTIME_ID));
    CHECK(res_ok(CLOCK_THREAD_CPUTIME_ID));
    CHECK(res_ok(CLOCK_MONOTONIC_RAW));
    CHECK(res_ok(CLOCK_REALTIME_COARSE));
    CHECK(res_ok(CLOCK_MONOTONIC_COARSE));
    CHECK(res_ok(CLOCK_BOOTTIME));
    CHECK(clock_getres(CLOCK_MONOTONIC, NULL) == 0);
    CHECK(clock_getres(CLOCK_REALTIME, &r) == 0 && r.tv_nsec == 1); /* high resolution timers */
    ERR(clock_getres(100, &r), EINVAL);
    ERR(clock_getres(12345, &r), EINVAL);
    ERR(clock_gettime(100, &t), EINVAL);
    ERR(clock_gettime(-5, &t), EINVAL); /* process 0, invalid clock type 3 */
    ERR(clock_gettime(10, &t), EINVAL); /* CLOCK_SGI_CYCLE, not supported */
    ERR(syscall(SYS_clock_gettime, 100, &t), EINVAL);
    ERR(syscall(SYS_clock_getres, 100, &r), EINVAL);
    ERR(syscall(SYS_clock_gettime, 12345, &t), EINVAL);
    CHECK(clock_nanosleep(100, 0, &(struct timespec){0, 1}, NULL) == EINVAL);
    ERR(syscall(SYS_clock_settime, 100, &t), EINVAL);
    return DONE();
}
