/* fcntl F_GETFD/F_SETFD: the close-on-exec flag is per descriptor, other bits are ignored, EBADF. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int fd = open("/dev/null", O_RDWR);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) == 0);
    CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    int d = dup(fd);
    CHECK(d > fd);
    CHECK(fcntl(d, F_GETFD) == 0);
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(fd, F_SETFD, 0) == 0);
    CHECK(fcntl(fd, F_GETFD) == 0);
    CHECK(fcntl(d, F_SETFD, FD_CLOEXEC) == 0);
    CHECK(fcntl(fd, F_GETFD) == 0);
    CHECK(fcntl(d, F_GETFD) == FD_CLOEXEC);
    /* only FD_CLOEXEC is kept */
    CHECK(fcntl(fd, F_SETFD, 0xfe) == 0);
    CHECK(fcntl(fd, F_GETFD) == 0);
    CHECK(fcntl(fd, F_SETFD, 0xff) == 0);
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    int c = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(c > d);
    CHECK(fcntl(c, F_GETFD) == FD_CLOEXEC);
    CHECK(close(c) == 0);
    /* the number is reused without the old flag */
    CHECK(open("/dev/null", O_RDONLY) == c);
    CHECK(fcntl(c, F_GETFD) == 0);
    ERR(fcntl(-1, F_GETFD), EBADF);
    ERR(fcntl(1000, F_SETFD, FD_CLOEXEC), EBADF);
    CHECK(close(d) == 0);
    ERR(fcntl(d, F_GETFD), EBADF);
    ERR(fcntl(d, F_SETFD, 0), EBADF);
    CHECK(close(fd) == 0 && close(c) == 0);
    return DONE();
}
