/* select on pipes: readable/writable sets, untouched bits cleared, timeout 0 and 10 ms, EBADF and EINVAL. */
#include "conf.h"
#include <sys/select.h>
#include <unistd.h>

int main(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    int nfds = (p[0] > p[1] ? p[0] : p[1]) + 1;
    fd_set rs, ws;
    struct timeval tv = {0, 0};
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    CHECK(select(nfds, &rs, 0, 0, &tv) == 0);
    CHECK(!FD_ISSET(p[0], &rs));
    FD_ZERO(&ws);
    FD_SET(p[1], &ws);
    tv = (struct timeval){0, 0};
    CHECK(select(nfds, 0, &ws, 0, &tv) == 1 && FD_ISSET(p[1], &ws));
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    FD_ZERO(&ws);
    FD_SET(p[1], &ws);
    tv = (struct timeval){0, 10000};
    CHECK(select(nfds, &rs, &ws, 0, &tv) == 1);
    CHECK(!FD_ISSET(p[0], &rs) && FD_ISSET(p[1], &ws));
    CHECK(write(p[1], "x", 1) == 1);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    FD_SET(p[1], &rs);
    FD_ZERO(&ws);
    FD_SET(p[0], &ws);
    FD_SET(p[1], &ws);
    CHECK(select(nfds, &rs, &ws, 0, 0) == 2);
    CHECK(FD_ISSET(p[0], &rs) && !FD_ISSET(p[1], &rs));
    CHECK(!FD_ISSET(p[0], &ws) && FD_ISSET(p[1], &ws));
    /* an fd below nfds but not in a set is not looked at */
    FD_ZERO(&rs);
    tv = (struct timeval){0, 10000};
    CHECK(select(nfds, &rs, 0, 0, &tv) == 0);
    /* empty sets, a plain timed wait */
    tv = (struct timeval){0, 10000};
    CHECK(select(0, 0, 0, 0, &tv) == 0);
    /* the timeout is updated to what remains: zero stays zero */
    tv = (struct timeval){0, 0};
    CHECK(select(0, 0, 0, 0, &tv) == 0 && tv.tv_sec == 0 && tv.tv_usec == 0);
    /* a closed fd in a set */
    int bad = dup(p[0]);
    CHECK(close(bad) == 0);
    FD_ZERO(&rs);
    FD_SET(bad, &rs);
    tv = (struct timeval){0, 0};
    ERR(select(bad + 1, &rs, 0, 0, &tv), EBADF);
    FD_ZERO(&rs);
    tv = (struct timeval){0, 0};
    volatile int neg = -1;
    ERR(select(neg, &rs, 0, 0, &tv), EINVAL);
    tv = (struct timeval){0, -1};
    ERR(select(1, 0, 0, 0, &tv), EINVAL);
    /* exceptfds: a pipe has nothing exceptional */
    fd_set es;
    FD_ZERO(&es);
    FD_SET(p[0], &es);
    tv = (struct timeval){0, 0};
    CHECK(select(nfds, 0, 0, &es, &tv) == 0 && !FD_ISSET(p[0], &es));
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
