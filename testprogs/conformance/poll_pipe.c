/* poll on a pipe: the empty read end is not ready, the write end is writable, data makes the read end readable. */
#include "conf.h"
#include <poll.h>
#include <unistd.h>

int main(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd r = {p[0], POLLIN, 0x7777}, w = {p[1], POLLOUT, 0x7777};
    CHECK(poll(&r, 1, 0) == 0);
    CHECK(r.revents == 0);
    CHECK(poll(&w, 1, 0) == 1);
    CHECK(w.revents == POLLOUT);
    /* the write end is never readable */
    struct pollfd wr = {p[1], POLLIN, 0};
    CHECK(poll(&wr, 1, 0) == 0 && wr.revents == 0);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(poll(&r, 1, 0) == 1);
    CHECK(r.revents == POLLIN);
    /* the read end is never writable */
    struct pollfd rw = {p[0], POLLOUT, 0};
    CHECK(poll(&rw, 1, 0) == 0 && rw.revents == 0);
    /* both at once, and asking for both on one fd */
    struct pollfd two[2] = {{p[0], POLLIN | POLLOUT, 0}, {p[1], POLLIN | POLLOUT, 0}};
    CHECK(poll(two, 2, 0) == 2);
    CHECK(two[0].revents == POLLIN && two[1].revents == POLLOUT);
    /* events 0: nothing is reported for a healthy pipe */
    struct pollfd none = {p[0], 0, 0};
    CHECK(poll(&none, 1, 0) == 0 && none.revents == 0);
    /* a blocking poll returns at once when ready */
    CHECK(poll(&r, 1, -1) == 1 && r.revents == POLLIN);
    CHECK(poll(&r, 1, 1000) == 1 && r.revents == POLLIN);
    /* the same fd twice counts twice */
    struct pollfd dup2x[2] = {{p[0], POLLIN, 0}, {p[0], POLLIN, 0}};
    CHECK(poll(dup2x, 2, 0) == 2);
    /* POLLRDNORM and POLLWRNORM */
    struct pollfd n[2] = {{p[0], POLLRDNORM, 0}, {p[1], POLLWRNORM, 0}};
    CHECK(poll(n, 2, 0) == 2);
    CHECK(n[0].revents == POLLRDNORM && n[1].revents == POLLWRNORM);
    char b[4];
    CHECK(read(p[0], b, sizeof b) == 1);
    CHECK(poll(&r, 1, 0) == 0 && r.revents == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
