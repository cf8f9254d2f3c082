/* With SIGPIPE ignored, writing to a pipe without readers gives EPIPE (write, writev); a zero-length write gives 0. */
#include "conf.h"
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
    CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "ab", 2) == 2);
    CHECK(close(p[0]) == 0);
    ERR(write(p[1], "x", 1), EPIPE);
    ERR(write(p[1], "x", 1), EPIPE);
    struct iovec v[2] = {{"ab", 2}, {"cd", 2}};
    ERR(writev(p[1], v, 2), EPIPE);
    CHECK(write(p[1], "x", 0) == 0);
    CHECK(close(p[1]) == 0);
    /* while a dup of the read end is open, writes succeed */
    CHECK(pipe(p) == 0);
    int r2 = dup(p[0]);
    CHECK(close(p[0]) == 0);
    CHECK(write(p[1], "yes", 3) == 3);
    char b[8];
    CHECK(read(r2, b, sizeof b) == 3 && memcmp(b, "yes", 3) == 0);
    CHECK(close(r2) == 0);
    ERR(write(p[1], "no", 2), EPIPE);
    CHECK(close(p[1]) == 0);
    /* a large write to a widowed pipe fails as a whole */
    static char big[100000];
    CHECK(pipe(p) == 0);
    CHECK(close(p[0]) == 0);
    ERR(write(p[1], big, sizeof big), EPIPE);
    CHECK(close(p[1]) == 0);
    /* the disposition is reported back as ignored */
    CHECK(signal(SIGPIPE, SIG_DFL) == SIG_IGN);
    return DONE();
}
