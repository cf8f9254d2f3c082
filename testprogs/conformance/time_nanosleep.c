/* nanosleep: 10 ms takes at least 10 ms, zero returns at once, bad tv_nsec or tv_sec is EINVAL. */
#include "conf.h"
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    struct timespec rem = {-1, -1};
    long long s = now();
    CHECK(nanosleep(&(struct timespec){0, 10000000}, &rem) == 0);
    long long d = now() - s;
    CHECK(d >= 10000000);
    CHECK(d < 2000000000LL);
    s = now();
    CHECK(nanosleep(&(struct timespec){0, 0}, NULL) == 0);
    CHECK(now() - s < 1000000000LL);
    CHECK(nanosleep(&(struct timespec){0, 999999999 / 100}, NULL) == 0);
    ERR(nanosleep(&(struct timespec){0, 1000000000}, 0), EINVAL);
    ERR(nanosleep(&(struct timespec){0, -1}, 0), EINVAL);
    ERR(nanosleep(&(struct timespec){-1, 0}, 0), EINVAL);
    ERR(syscall(SYS_nanosleep, &(struct timespec){0, 1000000000}, 0), EINVAL);
    ERR(syscall(SYS_nanosleep, &(struct timespec){-1, 5}, 0), EINVAL);
    s = now();
    CHECK(usleep(5000) == 0);
    CHECK(now() - s >= 5000000);
    s = now();
    CHECK(syscall(SYS_nanosleep, &(struct timespec){0, 3000000}, NULL) == 0);
    CHECK(now() - s >= 3000000);
    return DONE();
}
