/* poll: a closed fd gives POLLNVAL and counts, a negative fd is ignored (revents 0), too many fds EINVAL. */
#include "conf.h"
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    int bad = dup(p[0]);
    CHECK(close(bad) == 0);
    struct pollfd n = {bad, POLLIN, 0};
    CHECK(poll(&n, 1, 0) == 1);
    CHECK(n.revents == POLLNVAL);
    struct pollfd n0 = {bad, 0, 0};
    CHECK(poll(&n0, 1, 0) == 1 && n0.revents == POLLNVAL);
    struct pollfd big = {1000, POLLIN | POLLOUT, 0};
    CHECK(poll(&big, 1, 0) == 1 && big.revents == POLLNVAL);
    /* negative: ignored, revents cleared, does not end the wait */
    struct pollfd neg = {-1, POLLIN, 0x55};
    CHECK(poll(&neg, 1, 0) == 0 && neg.revents == 0);
    struct pollfd neg2 = {-12345, POLLOUT, 0x55};
    CHECK(poll(&neg2, 1, 5) == 0 && neg2.revents == 0);
    /* mixed with good fds */
    struct pollfd m[4] = {{-1, POLLIN, 0}, {p[1], POLLOUT, 0}, {bad, POLLIN, 0}, {p[0], POLLIN, 0}};
    CHECK(poll(m, 4, 0) == 2);
    CHECK(m[0].revents == 0 && m[1].revents == POLLOUT && m[2].revents == POLLNVAL && m[3].revents == 0);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(poll(m, 4, 0) == 3);
    CHECK(m[3].revents == POLLIN);
    /* a POLLNVAL fd also ends a blocking wait */
    CHECK(poll(&n, 1, -1) == 1 && n.revents == POLLNVAL);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    static struct pollfd many[1];
    ERR(poll(many, rl.rlim_cur + 1, 0), EINVAL);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
