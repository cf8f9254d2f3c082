/* poll and select over 16 pipes: exactly the written ones are readable, in the right slots. */
#include "conf.h"
#include <poll.h>
#include <sys/select.h>
#include <unistd.h>

#define N 16

int main(void) {
    int p[N][2], ok = 1, max = 0;
    for (int i = 0; i < N; i++) {
        ok &= pipe(p[i]) == 0;
        if (p[i][0] > max)
            max = p[i][0];
        if (p[i][1] > max)
            max = p[i][1];
    }
    CHECK(ok);
    CHECK(max < FD_SETSIZE);
    struct pollfd f[N];
    for (int i = 0; i < N; i++)
        f[i] = (struct pollfd){p[i][0], POLLIN, 0};
    CHECK(poll(f, N, 0) == 0);
    for (int i = 0; i < N; i += 3)
        ok &= write(p[i][1], "x", 1) == 1;
    CHECK(ok);
    int n = poll(f, N, 0);
    SAY("poll ready %d", n);
    CHECK(n == 6);
    char seen[N + 1];
    for (int i = 0; i < N; i++)
        seen[i] = f[i].revents == POLLIN ? 'R' : f[i].revents == 0 ? '-' : '?';
    seen[N] = 0;
    SAY("%s", seen);
    fd_set rs;
    FD_ZERO(&rs);
    for (int i = 0; i < N; i++)
        FD_SET(p[i][0], &rs);
    struct timeval tv = {0, 0};
    CHECK(select(max + 1, &rs, 0, 0, &tv) == 6);
    for (int i = 0; i < N; i++)
        seen[i] = FD_ISSET(p[i][0], &rs) ? 'R' : '-';
    SAY("%s", seen);
    /* close a few writers: those become POLLHUP */
    CHECK(close(p[1][1]) == 0 && close(p[3][1]) == 0);
    p[1][1] = p[3][1] = -1;
    n = poll(f, N, 0);
    CHECK(n == 7);
    for (int i = 0; i < N; i++)
        seen[i] = f[i].revents == POLLIN ? 'R' : f[i].revents == (POLLIN | POLLHUP) ? 'B' : f[i].revents == POLLHUP ? 'H' : f[i].revents == 0 ? '-' : '?';
    SAY("%s", seen);
    /* all writers at once */
    struct pollfd w[N];
    for (int i = 0; i < N; i++)
        w[i] = (struct pollfd){p[i][1], POLLOUT, 0};
    CHECK(poll(w, N, 0) == N - 2);
    for (int i = 0; i < N; i++) {
        ok &= close(p[i][0]) == 0;
        if (p[i][1] >= 0)
            ok &= close(p[i][1]) == 0;
    }
    CHECK(ok);
    return DONE();
}
