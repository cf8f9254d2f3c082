/* dup, dup2, dup3: the lowest free number, shared offsets, close-on-exec only on the copy. */
#include "conf.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    int fd = open("/dev/zero", O_RDONLY);
    CHECK(fd >= 3);
    int d = dup(fd);
    CHECK(d == fd + 1);
    CHECK(fcntl(d, F_GETFD) == 0);
    CHECK(dup2(fd, 20) == 20);
    CHECK(dup2(fd, fd) == fd);
    ERR(dup2(fd, -1), EBADF);
    ERR(dup2(99, 21), EBADF);
    CHECK(dup3(fd, 21, O_CLOEXEC) == 21);
    CHECK(fcntl(21, F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(fd, F_GETFD) == 0);
    ERR(dup3(fd, fd, 0), EINVAL);
    ERR(syscall(SYS_dup3, fd, 22, 12345), EINVAL); /* musl drops unknown flags itself */
    ERR(dup(-1), EBADF);
    ERR(dup(1000), EBADF);
    CHECK(close(20) == 0 && close(21) == 0 && close(d) == 0);
    ERR(close(d), EBADF);
    CHECK(dup(fd) == d);
    return DONE();
}
