/* close_range: closing a range, CLOSE_RANGE_CLOEXEC, empty and open-ended ranges, EINVAL. */
#include "conf.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define CR_CLOEXEC (1U << 2)

static long cr(unsigned a, unsigned b, unsigned f) { return syscall(SYS_close_range, a, b, f); }

static int isopen(int fd) { return fcntl(fd, F_GETFD) != -1; }

int main(void) {
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    int ok = 1;
    for (int i = 60; i < 70; i++)
        ok &= dup2(fd, i) == i;
    CHECK(ok);
    CHECK(cr(62, 65, 0) == 0);
    CHECK(isopen(61));
    CHECK(!isopen(62) && errno == EBADF);
    CHECK(!isopen(65));
    CHECK(isopen(66));
    /* an empty range and a range with nothing open */
    CHECK(cr(63, 64, 0) == 0);
    CHECK(cr(61, 61, 0) == 0);
    CHECK(!isopen(61));
    CHECK(isopen(60));
    CHECK(cr(66, 67, CR_CLOEXEC) == 0);
    CHECK(fcntl(66, F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(67, F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(68, F_GETFD) == 0);
    CHECK(fcntl(fd, F_GETFD) == 0);
    ERR(cr(68, 67, 0), EINVAL);
    ERR(cr(60, 70, 0x80), EINVAL);
    CHECK(isopen(68));
    /* up to ~0U means everything from 68 on */
    CHECK(cr(68, ~0U, 0) == 0);
    CHECK(!isopen(68) && !isopen(69));
    CHECK(isopen(60) && isopen(66) && isopen(fd));
    CHECK(cr(66, ~0U, CR_CLOEXEC) == 0);
    CHECK(fcntl(66, F_GETFD) == FD_CLOEXEC);
    CHECK(cr(1000, 2000, 0) == 0);
    CHECK(cr(60, 60, 0) == 0 && !isopen(60));
    CHECK(cr(66, 67, 0) == 0 && !isopen(66) && !isopen(67));
    CHECK(isopen(fd) && close(fd) == 0);
    return DONE();
}
