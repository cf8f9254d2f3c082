/* eventfd: counting and semaphore reads, nonblocking EAGAIN, the limits of a write, poll
 * readiness, and a forked child writing to its parent's counter. */
#include "conf.h"
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int fd = eventfd(3, EFD_NONBLOCK);
    CHECK(fd >= 0);
    uint64_t v = 0;
    CHECK(read(fd, &v, 8) == 8 && v == 3);
    ERR(read(fd, &v, 8), EAGAIN);
    ERR(read(fd, &v, 4), EINVAL);
    v = 5;
    CHECK(write(fd, &v, 8) == 8);
    v = 2;
    CHECK(write(fd, &v, 8) == 8);
    struct pollfd pf = {fd, POLLIN | POLLOUT, 0};
    CHECK(poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN) && (pf.revents & POLLOUT));
    CHECK(read(fd, &v, 8) == 8 && v == 7);
    pf.revents = 0;
    CHECK(poll(&pf, 1, 0) == 1 && !(pf.revents & POLLIN));
    v = UINT64_MAX;
    ERR(write(fd, &v, 8), EINVAL);
    v = UINT64_MAX - 1;
    CHECK(write(fd, &v, 8) == 8);
    v = 1;
    ERR(write(fd, &v, 8), EAGAIN);
    CHECK(read(fd, &v, 8) == 8 && v == UINT64_MAX - 1);
    CHECK(close(fd) == 0);
    /* Semaphore mode: one at a time. */
    int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(s >= 0);
    CHECK(read(s, &v, 8) == 8 && v == 1);
    CHECK(read(s, &v, 8) == 8 && v == 1);
    ERR(read(s, &v, 8), EAGAIN);
    ERR(eventfd(0, 0x40), EINVAL);
    /* A child adds to the parent's counter; the parent's blocking read waits for it. */
    int b = eventfd(0, 0);
    CHECK(b >= 0);
    pid_t c = fork();
    if (c == 0) {
        uint64_t one = 42;
        _exit(write(b, &one, 8) == 8 ? 0 : 1);
    }
    CHECK(read(b, &v, 8) == 8 && v == 42);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return DONE();
}
