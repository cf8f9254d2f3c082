/* /dev/zero: reads fill buffers with zeros (large and odd sizes), writes are accepted, a private mapping of it is zero memory; device 1:5. */
#include "conf.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static unsigned char big[1 << 20];

static int all(const unsigned char *p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

int main(void) {
    int fd = open("/dev/zero", O_RDWR);
    CHECK(fd >= 0);
    memset(big, 0xff, sizeof big);
    CHECK(read(fd, big, 4096) == 4096);
    CHECK(all(big, 4096, 0) && big[4096] == 0xff);
    memset(big, 0xff, sizeof big);
    CHECK(read(fd, big + 1, 777) == 777);
    CHECK(big[0] == 0xff && all(big + 1, 777, 0) && big[778] == 0xff);
    memset(big, 0xff, sizeof big);
    CHECK(read(fd, big, sizeof big) == (ssize_t)sizeof big);
    CHECK(all(big, sizeof big, 0));
    CHECK(read(fd, big, 0) == 0);
    CHECK(write(fd, "abc", 3) == 3);
    CHECK(write(fd, big, sizeof big) == (ssize_t)sizeof big);
    CHECK(pread(fd, big, 10, 999) == 10);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(major(st.st_rdev) == 1 && minor(st.st_rdev) == 5);
    unsigned char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(all(p, 3 * 4096, 0));
    p[5000] = 7;
    CHECK(p[5000] == 7);
    CHECK(munmap(p, 3 * 4096) == 0);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED && all(p, 4096, 0));
    CHECK(munmap(p, 4096) == 0);
    CHECK(read(fd, big, 1) == 1 && big[0] == 0); /* the mapping did not change what reads give */
    CHECK(close(fd) == 0);
    return DONE();
}
