/* fcntl F_DUPFD/F_DUPFD_CLOEXEC: lowest free number at or above the argument, flags, EINVAL. */
#include "conf.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 3);
    int a = fcntl(fd, F_DUPFD, 0);
    CHECK(a > fd);
    CHECK(fcntl(a, F_GETFD) == 0);
    CHECK(fcntl(fd, F_DUPFD, 100) == 100);
    CHECK(fcntl(fd, F_DUPFD, 100) == 101);
    CHECK(fcntl(fd, F_DUPFD_CLOEXEC, 100) == 102);
    CHECK(fcntl(100, F_GETFD) == 0);
    CHECK(fcntl(102, F_GETFD) == FD_CLOEXEC);
    CHECK(close(101) == 0);
    CHECK(fcntl(fd, F_DUPFD, 100) == 101);
    CHECK(fcntl(fd, F_DUPFD, 102) == 103);
    /* the argument itself is used when it is free */
    CHECK(fcntl(fd, F_DUPFD_CLOEXEC, 150) == 150);
    CHECK(fcntl(150, F_GETFD) == FD_CLOEXEC);
    /* the duplicate shares the file description */
    CHECK(fcntl(100, F_SETFL, O_NONBLOCK) == 0);
    CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == O_NONBLOCK);
    CHECK((fcntl(150, F_GETFL) & O_NONBLOCK) == O_NONBLOCK);
    ERR(fcntl(fd, F_DUPFD, -1), EINVAL);
    ERR(fcntl(fd, F_DUPFD_CLOEXEC, -5), EINVAL);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    ERR(fcntl(fd, F_DUPFD, (int)rl.rlim_cur), EINVAL);
    ERR(fcntl(-1, F_DUPFD, 0), EBADF);
    ERR(fcntl(99, F_DUPFD, 0), EBADF);
    int all[] = {a, 100, 101, 102, 103, 150, fd};
    int ok = 1;
    for (unsigned i = 0; i < sizeof all / sizeof *all; i++)
        ok &= close(all[i]) == 0;
    CHECK(ok);
    return DONE();
}
