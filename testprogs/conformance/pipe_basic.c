/* pipe: two distinct ends, data in order within one process, the wrong direction gives EBADF. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int p[2] = {-1, -1};
    CHECK(pipe(p) == 0);
    CHECK(p[0] >= 0 && p[1] >= 0 && p[0] != p[1]);
    CHECK((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY);
    CHECK((fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
    CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0);
    CHECK(write(p[1], "hello", 5) == 5);
    char b[32] = {0};
    CHECK(read(p[0], b, sizeof b) == 5);
    CHECK(memcmp(b, "hello", 5) == 0);
    CHECK(write(p[1], "one ", 4) == 4);
    CHECK(write(p[1], "two ", 4) == 4);
    CHECK(write(p[1], "three", 5) == 5);
    memset(b, 0, sizeof b);
    CHECK(read(p[0], b, sizeof b) == 13);
    SAY("%s", b);
    ERR(write(p[0], "x", 1), EBADF);
    ERR(read(p[1], b, 1), EBADF);
    /* a zero-length write and read do nothing */
    CHECK(write(p[1], b, 0) == 0);
    CHECK(read(p[0], b, 0) == 0);
    /* bytes of every value pass through */
    unsigned char all[256], got[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    CHECK(write(p[1], all, 256) == 256);
    CHECK(read(p[0], got, 256) == 256);
    CHECK(memcmp(all, got, 256) == 0);
    int q[2];
    CHECK(pipe(q) == 0);
    CHECK(q[0] != p[0] && q[0] != p[1] && q[1] != p[0] && q[1] != p[1]);
    /* two pipes are independent */
    CHECK(write(q[1], "Q", 1) == 1 && write(p[1], "P", 1) == 1);
    CHECK(read(q[0], b, 8) == 1 && b[0] == 'Q');
    CHECK(read(p[0], b, 8) == 1 && b[0] == 'P');
    CHECK(close(p[0]) == 0 && close(p[1]) == 0 && close(q[0]) == 0 && close(q[1]) == 0);
    return DONE();
}
