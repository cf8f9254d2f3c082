/* ioctl FIONREAD on a pipe's read end counts the unread bytes. */
#include "conf.h"
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
    int p[2], n = -1;
    char b[200];
    CHECK(pipe(p) == 0);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 0);
    CHECK(write(p[1], b, 100) == 100);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 100);
    CHECK(read(p[0], b, 30) == 30);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 70);
    CHECK(write(p[1], b, 5) == 5 && write(p[1], b, 7) == 7);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 82);
    SAY("unread %d", n);
    CHECK(read(p[0], b, sizeof b) == 82);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 0);
    static char big[20000];
    CHECK(write(p[1], big, sizeof big) == (long)sizeof big);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 20000);
    int d = dup(p[0]);
    CHECK(ioctl(d, FIONREAD, &n) == 0 && n == 20000);
    CHECK(close(p[1]) == 0);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 20000);
    int got = 0, r;
    while ((r = read(p[0], big, sizeof big)) > 0)
        got += r;
    CHECK(got == 20000);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 0);
    ERR(ioctl(-1, FIONREAD, &n), EBADF);
    CHECK(close(p[0]) == 0 && close(d) == 0);
    return DONE();
}
