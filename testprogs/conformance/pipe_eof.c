/* Pipe EOF: data written before the writer closed is read first, then 0 forever; a dup'd writer keeps it open. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int p[2];
    char b[32];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "0123456789", 10) == 10);
    CHECK(close(p[1]) == 0);
    CHECK(read(p[0], b, 4) == 4 && memcmp(b, "0123", 4) == 0);
    CHECK(read(p[0], b, sizeof b) == 6 && memcmp(b, "456789", 6) == 0);
    CHECK(read(p[0], b, sizeof b) == 0);
    CHECK(read(p[0], b, sizeof b) == 0);
    CHECK(close(p[0]) == 0);
    /* a pipe closed with nothing in it */
    CHECK(pipe(p) == 0);
    CHECK(close(p[1]) == 0);
    CHECK(read(p[0], b, sizeof b) == 0);
    CHECK(close(p[0]) == 0);
    /* EOF comes only when every write end is closed */
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    int w2 = dup(p[1]);
    CHECK(w2 >= 0);
    CHECK(close(p[1]) == 0);
    ERR(read(p[0], b, sizeof b), EAGAIN);
    CHECK(write(w2, "z", 1) == 1);
    CHECK(read(p[0], b, sizeof b) == 1 && b[0] == 'z');
    ERR(read(p[0], b, sizeof b), EAGAIN);
    CHECK(close(w2) == 0);
    CHECK(read(p[0], b, sizeof b) == 0);
    /* a closed read end of one pipe does not affect another */
    int q[2];
    CHECK(pipe(q) == 0);
    CHECK(close(p[0]) == 0);
    CHECK(write(q[1], "ok", 2) == 2);
    CHECK(close(q[1]) == 0);
    CHECK(read(q[0], b, sizeof b) == 2 && read(q[0], b, sizeof b) == 0);
    CHECK(close(q[0]) == 0);
    return DONE();
}
