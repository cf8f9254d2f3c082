/* A 4 MiB file written in 64 KiB pieces and read back in odd-sized pieces and with pread, checked by a checksum. */
#include "conf.h"
#define WORKDIR "file_large.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

#define SIZE (4 << 20)
#define WCHUNK (64 << 10)
#define RCHUNK 12345

static unsigned char gen(unsigned i) { return (unsigned char)((i * 2654435761u) >> 24); }

int main(void) {
    enter();
    static unsigned char buf[WCHUNK];
    unsigned sum = 0;
    int fd = open("big", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    int ok = 1;
    for (unsigned off = 0; off < SIZE; off += WCHUNK) {
        for (unsigned i = 0; i < WCHUNK; i++) {
            buf[i] = gen(off + i);
            sum = sum * 31 + buf[i];
        }
        ok &= write(fd, buf, WCHUNK) == WCHUNK;
    }
    CHECK(ok);
    SAY("written checksum %08x", sum);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == SIZE);
    CHECK(fsync(fd) == 0);
    CHECK(close(fd) == 0);
    fd = open("big", O_RDONLY);
    CHECK(fd >= 0);
    unsigned sum2 = 0, bad = 0;
    long total = 0;
    int n;
    while ((n = read(fd, buf, RCHUNK)) > 0) {
        for (int i = 0; i < n; i++) {
            bad += buf[i] != gen(total + i);
            sum2 = sum2 * 31 + buf[i];
        }
        total += n;
    }
    CHECK(n == 0);
    CHECK(total == SIZE);
    CHECK(bad == 0);
    CHECK(sum2 == sum);
    SAY("read checksum %08x", sum2);
    /* random-ish preads */
    ok = 1;
    for (unsigned k = 0; k < 64; k++) {
        unsigned off = (k * 1000003u) % (SIZE - 100);
        unsigned char b[100];
        ok &= pread(fd, b, 100, off) == 100;
        for (int i = 0; i < 100; i++)
            ok &= b[i] == gen(off + i);
    }
    CHECK(ok);
    unsigned char tail[10];
    CHECK(pread(fd, tail, 10, SIZE - 4) == 4 && tail[3] == gen(SIZE - 1));
    CHECK(close(fd) == 0);
    CHECK(unlink("big") == 0);
    leave();
    return DONE();
}
