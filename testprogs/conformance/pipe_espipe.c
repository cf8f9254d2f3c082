/* Pipes cannot seek: lseek, pread, pwrite, preadv give ESPIPE on both ends. */
#include "conf.h"
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
    int p[2];
    char b[8];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "abc", 3) == 3);
    ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);
    ERR(lseek(p[0], 0, SEEK_CUR), ESPIPE);
    ERR(lseek(p[0], 0, SEEK_END), ESPIPE);
    ERR(lseek(p[1], 0, SEEK_SET), ESPIPE);
    ERR(lseek(p[1], 5, SEEK_CUR), ESPIPE);
    ERR(pread(p[0], b, 1, 0), ESPIPE);
    ERR(pwrite(p[1], "x", 1, 0), ESPIPE);
    struct iovec v = {b, 1};
    ERR(preadv(p[0], &v, 1, 0), ESPIPE);
    ERR(pwritev(p[1], &v, 1, 0), ESPIPE);
    /* nothing was consumed or added by the failed calls */
    CHECK(read(p[0], b, sizeof b) == 3 && memcmp(b, "abc", 3) == 0);
    /* a dup of a pipe end is still a pipe */
    int d = dup(p[0]);
    ERR(lseek(d, 0, SEEK_SET), ESPIPE);
    /* stdin-like: after closing the writer still ESPIPE */
    CHECK(close(p[1]) == 0);
    ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);
    CHECK(close(p[0]) == 0 && close(d) == 0);
    return DONE();
}
