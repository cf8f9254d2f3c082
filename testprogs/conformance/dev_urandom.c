/* /dev/urandom and /dev/random: reads return the requested count, the bytes vary, devices 1:9 and 1:8. */
#include "conf.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int distinct_bytes(const unsigned char *p, size_t n) {
    int seen[256] = {0}, k = 0;
    for (size_t i = 0; i < n; i++)
        if (!seen[p[i]]++) k++;
    return k;
}

int main(void) {
    int fd = open("/dev/urandom", O_RDONLY);
    CHECK(fd >= 0);
    unsigned char a[64], b[64], big[65536];
    CHECK(read(fd, a, sizeof a) == 64);
    CHECK(read(fd, b, sizeof b) == 64);
    CHECK(memcmp(a, b, 64) != 0);
    CHECK(distinct_bytes(a, 64) > 16);
    CHECK(read(fd, big, sizeof big) == (ssize_t)sizeof big);
    CHECK(distinct_bytes(big, sizeof big) == 256);
    CHECK(read(fd, a, 0) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(major(st.st_rdev) == 1 && minor(st.st_rdev) == 9);
    CHECK(close(fd) == 0);
    fd = open("/dev/random", O_RDONLY | O_NONBLOCK);
    CHECK(fd >= 0);
    CHECK(read(fd, a, 32) == 32); /* the pool is initialised long after boot */
    CHECK(fstat(fd, &st) == 0 && major(st.st_rdev) == 1 && minor(st.st_rdev) == 8);
    CHECK(close(fd) == 0);
    return DONE();
}
