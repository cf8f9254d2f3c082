/* RLIMIT_NOFILE: filling the table gives EMFILE for open, dup, pipe; F_DUPFD/dup2 at the limit fail. */
#include "conf.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#define LIM 64

int main(void) {
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK(rl.rlim_cur >= LIM);
    CHECK(rl.rlim_cur <= rl.rlim_max);
    /* lowering the soft limit is always allowed */
    struct rlimit nl = {LIM, rl.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &nl) == 0);
    struct rlimit got;
    CHECK(getrlimit(RLIMIT_NOFILE, &got) == 0);
    CHECK(got.rlim_cur == LIM && got.rlim_max == rl.rlim_max);
    int first = -1, last = -1, n = 0, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) {
        if (first < 0)
            first = fd;
        last = fd;
        n++;
        if (n > LIM)
            break;
    }
    int e = errno;
    CHECK(fd == -1 && e == EMFILE);
    CHECK(n > 0 && n <= LIM);
    CHECK(last == LIM - 1);
    ERR(open("/dev/null", O_RDONLY), EMFILE);
    ERR(dup(first), EMFILE);
    ERR(fcntl(first, F_DUPFD, 0), EMFILE);
    ERR(fcntl(first, F_DUPFD, LIM), EINVAL);
    ERR(dup2(first, LIM), EBADF);
    int p[2];
    ERR(pipe(p), EMFILE);
    /* one free slot: a pipe still needs two */
    CHECK(close(last) == 0);
    ERR(pipe(p), EMFILE);
    CHECK(dup(first) == last);
    CHECK(close(last - 1) == 0 && close(last) == 0);
    CHECK(pipe(p) == 0);
    CHECK(p[0] == last - 1 && p[1] == last);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    int ok = 1;
    for (fd = first; fd < last - 1; fd++)
        ok &= close(fd) == 0;
    CHECK(ok);
    CHECK(open("/dev/null", O_RDONLY) == first);
    CHECK(close(first) == 0);
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    return DONE();
}
