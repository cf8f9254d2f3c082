/* New descriptors take the lowest free number: open, dup, pipe, F_DUPFD after closes. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int a = open("/dev/null", O_RDONLY);
    int b = open("/dev/null", O_RDONLY);
    int c = open("/dev/null", O_RDONLY);
    int d = open("/dev/null", O_RDONLY);
    CHECK(a >= 3);
    CHECK(b == a + 1 && c == a + 2 && d == a + 3);
    CHECK(close(b) == 0);
    CHECK(open("/dev/zero", O_RDONLY) == b);
    CHECK(close(c) == 0 && close(a) == 0);
    CHECK(open("/dev/null", O_RDONLY) == a);
    CHECK(dup(d) == c);
    CHECK(dup(d) == d + 1);
    CHECK(close(a) == 0 && close(c) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(p[0] == a && p[1] == c);
    CHECK(close(b) == 0);
    CHECK(fcntl(d, F_DUPFD, 0) == b);
    CHECK(close(b) == 0);
    CHECK(fcntl(d, F_DUPFD, b + 1) == d + 2);
    CHECK(fcntl(d, F_DUPFD, 0) == b);
    /* a failed open does not use up a number */
    ERR(open("/nonexistent-conformance-path", O_RDONLY), ENOENT);
    CHECK(close(p[0]) == 0);
    ERR(open("/nonexistent-conformance-path", O_RDONLY), ENOENT);
    CHECK(open("/dev/null", O_RDONLY) == a);
    /* dup2 to a high number leaves the gap below it free */
    CHECK(dup2(d, 80) == 80);
    CHECK(close(p[1]) == 0);
    CHECK(dup(80) == c);
    CHECK(dup(80) == d + 3);
    int ok = 1;
    for (int i = a; i <= d + 3; i++)
        ok &= close(i) == 0;
    CHECK(ok);
    CHECK(close(80) == 0);
    CHECK(open("/dev/null", O_RDONLY) == a);
    CHECK(close(a) == 0);
    return DONE();
}
