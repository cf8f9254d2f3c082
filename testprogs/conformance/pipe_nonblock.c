/* O_NONBLOCK on pipes: EAGAIN on an empty pipe, set per end with F_SETFL, blocking again after clearing. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int p[2];
    char b[16];
    CHECK(pipe(p) == 0);
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    ERR(read(p[0], b, sizeof b), EAGAIN);
    ERR(read(p[0], b, sizeof b), EWOULDBLOCK);
    /* the write end is a separate open file: still blocking */
    CHECK((fcntl(p[1], F_GETFL) & O_NONBLOCK) == 0);
    CHECK(write(p[1], "abc", 3) == 3);
    CHECK(read(p[0], b, sizeof b) == 3);
    ERR(read(p[0], b, 1), EAGAIN);
    /* a zero-length read on an empty pipe returns 0 */
    CHECK(read(p[0], b, 0) == 0);
    /* a dup shares the flag */
    int d = dup(p[0]);
    CHECK((fcntl(d, F_GETFL) & O_NONBLOCK) == O_NONBLOCK);
    ERR(read(d, b, 1), EAGAIN);
    CHECK(fcntl(d, F_SETFL, 0) == 0);
    CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0);
    /* with data, a blocking read returns at once */
    CHECK(write(p[1], "de", 2) == 2);
    CHECK(read(p[0], b, sizeof b) == 2 && memcmp(b, "de", 2) == 0);
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    /* after the writer closes, a nonblocking read gives 0, not EAGAIN */
    CHECK(close(p[1]) == 0);
    CHECK(read(p[0], b, sizeof b) == 0);
    CHECK(read(d, b, sizeof b) == 0);
    CHECK(close(p[0]) == 0 && close(d) == 0);
    /* pipe2 with O_NONBLOCK, then cleared on the read end only */
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    ERR(read(p[0], b, sizeof b), EAGAIN);
    CHECK(fcntl(p[0], F_SETFL, 0) == 0);
    CHECK((fcntl(p[1], F_GETFL) & O_NONBLOCK) == O_NONBLOCK);
    CHECK(write(p[1], "f", 1) == 1);
    CHECK(read(p[0], b, sizeof b) == 1 && b[0] == 'f');
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
