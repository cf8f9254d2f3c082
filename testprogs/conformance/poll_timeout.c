/* poll timeouts: 0 returns at once, 10 ms waits and returns 0, no fds at all is a sleep. */
#include "conf.h"
#include <poll.h>
#include <time.h>
#include <unistd.h>

static long ms_since(struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd r = {p[0], POLLIN, 0};
    struct timespec t0;
    CHECK(poll(&r, 1, 0) == 0 && r.revents == 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(poll(&r, 1, 10) == 0);
    CHECK(r.revents == 0);
    CHECK(ms_since(&t0) >= 9);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(poll(0, 0, 10) == 0);
    CHECK(ms_since(&t0) >= 9);
    CHECK(poll(0, 0, 0) == 0);
    /* a ready fd ends a long timeout at once */
    CHECK(write(p[1], "x", 1) == 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(poll(&r, 1, 5000) == 1 && r.revents == POLLIN);
    CHECK(ms_since(&t0) < 4000);
    /* 1 ms on an empty pipe */
    char b[2];
    CHECK(read(p[0], b, 2) == 1);
    CHECK(poll(&r, 1, 1) == 0 && r.revents == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
