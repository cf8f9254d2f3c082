/* pipe2: O_CLOEXEC and O_NONBLOCK apply to both ends, unknown flags give EINVAL. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int p[2];
    char b[4];
    CHECK(pipe2(p, 0) == 0);
    CHECK(fcntl(p[0], F_GETFD) == 0 && fcntl(p[1], F_GETFD) == 0);
    CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0 && (fcntl(p[1], F_GETFL) & O_NONBLOCK) == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC);
    CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    CHECK(fcntl(p[0], F_GETFD) == 0 && fcntl(p[1], F_GETFD) == 0);
    CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) == O_NONBLOCK);
    CHECK((fcntl(p[1], F_GETFL) & O_NONBLOCK) == O_NONBLOCK);
    ERR(read(p[0], b, sizeof b), EAGAIN);
    CHECK(write(p[1], "ab", 2) == 2 && read(p[0], b, sizeof b) == 2);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC);
    CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) && (fcntl(p[1], F_GETFL) & O_NONBLOCK));
    CHECK((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY);
    CHECK((fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    int q[2] = {-7, -7};
    ERR(pipe2(q, O_RDWR), EINVAL);
    ERR(pipe2(q, O_APPEND), EINVAL);
    ERR(pipe2(q, 0x40000000), EINVAL);
    CHECK(q[0] == -7 && q[1] == -7);
    /* a failed pipe2 does not use up descriptors */
    CHECK(pipe2(q, 0) == 0);
    CHECK(q[0] == p[0] && q[1] == p[1]);
    CHECK(close(q[0]) == 0 && close(q[1]) == 0);
    return DONE();
}
