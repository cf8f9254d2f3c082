/* O_CLOEXEC and friends: open, openat, pipe2, dup3, F_DUPFD_CLOEXEC set FD_CLOEXEC; plain calls do not. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int a = open("/dev/null", O_RDONLY);
    int b = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(a >= 0 && b >= 0);
    CHECK(fcntl(a, F_GETFD) == 0);
    CHECK(fcntl(b, F_GETFD) == FD_CLOEXEC);
    /* close-on-exec is a descriptor flag, not a file status flag */
    CHECK((fcntl(b, F_GETFL) & O_CLOEXEC) == 0);
    int c = openat(AT_FDCWD, "/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(fcntl(c, F_GETFD) == FD_CLOEXEC);
    int d = openat(AT_FDCWD, "/dev/null", O_WRONLY);
    CHECK(fcntl(d, F_GETFD) == 0);
    int p[2], q[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC);
    CHECK(pipe(q) == 0);
    CHECK(fcntl(q[0], F_GETFD) == 0 && fcntl(q[1], F_GETFD) == 0);
    CHECK(dup3(a, 40, O_CLOEXEC) == 40);
    CHECK(fcntl(40, F_GETFD) == FD_CLOEXEC);
    CHECK(dup3(a, 40, 0) == 40);
    CHECK(fcntl(40, F_GETFD) == 0);
    CHECK(dup2(b, 41) == 41);
    CHECK(fcntl(41, F_GETFD) == 0);
    CHECK(dup2(b, 41) == 41);
    CHECK(fcntl(41, F_GETFD) == 0);
    int e = fcntl(b, F_DUPFD_CLOEXEC, 0);
    CHECK(fcntl(e, F_GETFD) == FD_CLOEXEC);
    int f = dup(b);
    CHECK(fcntl(f, F_GETFD) == 0);
    /* dup2 onto an open descriptor clears its flag */
    CHECK(dup2(a, b) == b);
    CHECK(fcntl(b, F_GETFD) == 0);
    int all[] = {a, b, c, d, p[0], p[1], q[0], q[1], 40, 41, e, f};
    int ok = 1;
    for (unsigned i = 0; i < sizeof all / sizeof *all; i++)
        ok &= close(all[i]) == 0;
    CHECK(ok);
    return DONE();
}
