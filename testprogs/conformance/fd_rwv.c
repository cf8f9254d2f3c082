/* readv/writev/preadv/pwritev on a file: scatter and gather, empty vectors, EINVAL for bad counts. */
#include "conf.h"
#define WORKDIR "fd_rwv.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <limits.h>
#include <sys/uio.h>

int main(void) {
    enter();
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    char a[] = "hello, ", b[] = "", c[] = "scattered ", d[] = "world";
    struct iovec w[4] = {{a, 7}, {b, 0}, {c, 10}, {d, 5}};
    CHECK(writev(fd, w, 4) == 22);
    CHECK(lseek(fd, 0, SEEK_CUR) == 22);
    CHECK(writev(fd, w, 0) == 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    char x[3], y[10], z[20];
    memset(z, 0, sizeof z);
    struct iovec r[3] = {{x, 3}, {y, 10}, {z, 20}};
    CHECK(readv(fd, r, 3) == 22);
    CHECK(memcmp(x, "hel", 3) == 0);
    CHECK(memcmp(y, "lo, scatte", 10) == 0);
    CHECK(strcmp(z, "red world") == 0);
    CHECK(readv(fd, r, 3) == 0);
    CHECK(preadv(fd, r, 2, 7) == 13);
    CHECK(memcmp(x, "sca", 3) == 0 && memcmp(y, "ttered wor", 10) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 22);
    struct iovec pw[2] = {{"AB", 2}, {"CD", 2}};
    CHECK(pwritev(fd, pw, 2, 20) == 4);
    CHECK(lseek(fd, 0, SEEK_CUR) == 22);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 24);
    char all[32] = {0};
    CHECK(pread(fd, all, sizeof all, 0) == 24);
    SAY("%s", all);
    volatile int neg = -1;
    ERR(readv(fd, r, neg), EINVAL);
    ERR(writev(fd, w, neg), EINVAL);
    static struct iovec many[IOV_MAX + 1];
    for (int i = 0; i <= IOV_MAX; i++)
        many[i] = (struct iovec){a, 1};
    ERR(writev(fd, many, IOV_MAX + 1), EINVAL);
    CHECK(lseek(fd, 0, SEEK_END) == 24);
    CHECK(writev(fd, many, IOV_MAX) == IOV_MAX);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 24 + IOV_MAX);
    CHECK(close(fd) == 0);
    leave();
    return DONE();
}
