/* poll after one end closes: POLLHUP on the read end (with POLLIN while data remains), POLLERR on the write end. */
#include "conf.h"
#include <poll.h>
#include <sys/select.h>
#include <unistd.h>

int main(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "ab", 2) == 2);
    CHECK(close(p[1]) == 0);
    struct pollfd r = {p[0], POLLIN, 0};
    CHECK(poll(&r, 1, 0) == 1);
    CHECK(r.revents == (POLLIN | POLLHUP));
    /* POLLHUP is reported even when not asked for */
    struct pollfd z = {p[0], 0, 0};
    CHECK(poll(&z, 1, 0) == 1 && z.revents == POLLHUP);
    char b[4];
    CHECK(read(p[0], b, sizeof b) == 2);
    CHECK(poll(&r, 1, 0) == 1);
    CHECK(r.revents == POLLHUP);
    CHECK(poll(&r, 1, -1) == 1 && r.revents == POLLHUP);
    SAY("read end revents %#x", r.revents);
    /* select says readable: a read would not block (EOF) */
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {0, 0};
    CHECK(select(p[0] + 1, &rs, 0, 0, &tv) == 1 && FD_ISSET(p[0], &rs));
    CHECK(close(p[0]) == 0);
    /* the reader closes: the writer sees POLLERR, and is writable */
    CHECK(pipe(p) == 0);
    CHECK(close(p[0]) == 0);
    struct pollfd w = {p[1], POLLOUT, 0};
    CHECK(poll(&w, 1, 0) == 1);
    CHECK(w.revents & POLLERR);
    CHECK(w.revents == (POLLOUT | POLLERR));
    SAY("write end revents %#x", w.revents);
    struct pollfd wz = {p[1], 0, 0};
    CHECK(poll(&wz, 1, 0) == 1 && wz.revents == POLLERR);
    fd_set ws;
    FD_ZERO(&ws);
    FD_SET(p[1], &ws);
    tv = (struct timeval){0, 0};
    CHECK(select(p[1] + 1, 0, &ws, 0, &tv) == 1 && FD_ISSET(p[1], &ws));
    CHECK(close(p[1]) == 0);
    return DONE();
}
