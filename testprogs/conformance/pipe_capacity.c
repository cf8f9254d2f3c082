/* Filling a nonblocking pipe: at least 4 KiB is accepted, then EAGAIN; everything written reads back in order. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

#define BIG (256 * 1024)

static unsigned char src[BIG], dst[BIG];

int main(void) {
    for (int i = 0; i < BIG; i++)
        src[i] = (unsigned char)(i * 31 + (i >> 8));
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    /* fill in 1 KiB pieces until the pipe is full */
    long total = 0;
    int n;
    while (total < BIG && (n = write(p[1], src + total, 1024)) > 0)
        total += n;
    int e = errno;
    CHECK(n == -1 && e == EAGAIN);
    CHECK(total >= 4096);
    CHECK(total < BIG);
    ERR(write(p[1], src, 1), EAGAIN);
    long got = 0;
    while ((n = read(p[0], dst + got, 3000)) > 0)
        got += n;
    e = errno;
    CHECK(n == -1 && e == EAGAIN);
    CHECK(got == total);
    CHECK(memcmp(src, dst, got) == 0);
    /* one large write to an empty pipe: a short count, not an error */
    long w = write(p[1], src, 65536 * 2);
    CHECK(w >= 4096 && w <= 65536 * 2);
    got = 0;
    while ((n = read(p[0], dst + got, sizeof dst - got)) > 0)
        got += n;
    CHECK(got == w);
    CHECK(memcmp(src, dst, got) == 0);
    /* a 64 KiB write in 4 KiB pieces, drained as it goes */
    long off = 0, rd = 0;
    int ok = 1;
    while (off < 65536) {
        n = write(p[1], src + off, 4096);
        if (n > 0)
            off += n;
        int r = read(p[0], dst + rd, 1000);
        if (r > 0)
            rd += r;
        else if (n <= 0) {
            ok = 0;
            break;
        }
    }
    while ((n = read(p[0], dst + rd, 8192)) > 0)
        rd += n;
    CHECK(ok);
    CHECK(rd == 65536);
    CHECK(memcmp(src, dst, 65536) == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
