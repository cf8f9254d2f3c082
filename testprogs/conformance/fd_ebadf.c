/* EBADF from descriptor calls given -1, a large unused number, or a just-closed descriptor. */
#include "conf.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static void all(int fd) {
    char b[8];
    struct stat st;
    struct iovec v = {b, sizeof b};
    ERR(read(fd, b, sizeof b), EBADF);
    ERR(write(fd, "x", 1), EBADF);
    ERR(pread(fd, b, 1, 0), EBADF);
    ERR(pwrite(fd, "x", 1, 0), EBADF);
    ERR(readv(fd, &v, 1), EBADF);
    ERR(writev(fd, &v, 1), EBADF);
    ERR(lseek(fd, 0, SEEK_SET), EBADF);
    ERR(fstat(fd, &st), EBADF);
    ERR(fcntl(fd, F_GETFD), EBADF);
    ERR(fcntl(fd, F_GETFL), EBADF);
    ERR(dup(fd), EBADF);
    ERR(dup2(fd, 50), EBADF);
    ERR(fsync(fd), EBADF);
    ERR(ftruncate(fd, 0), EBADF);
    ERR(fchdir(fd), EBADF);
    ERR(close(fd), EBADF);
}

int main(void) {
    SAY("fd -1");
    all(-1);
    SAY("fd 1000");
    all(1000);
    SAY("fd INT_MAX");
    all(INT_MAX);
    int fd = open("/dev/null", O_RDWR);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    SAY("closed fd");
    all(fd);
    /* a failed dup2 leaves the target alone */
    CHECK(dup2(fd, 50) == -1);
    ERR(fcntl(50, F_GETFD), EBADF);
    return DONE();
}
