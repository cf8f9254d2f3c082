/* Descriptors from dup/dup2/F_DUPFD share the file offset; separate opens do not. */
#include "conf.h"
#define WORKDIR "fd_shared_offset.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    int d = dup(fd);
    CHECK(lseek(d, 0, SEEK_CUR) == 10);
    CHECK(lseek(fd, 2, SEEK_SET) == 2);
    CHECK(lseek(d, 0, SEEK_CUR) == 2);
    char b[16] = {0};
    CHECK(read(d, b, 3) == 3 && memcmp(b, "234", 3) == 0);
    CHECK(read(fd, b, 3) == 3 && memcmp(b, "567", 3) == 0);
    CHECK(dup2(fd, 30) == 30);
    int e = fcntl(fd, F_DUPFD, 40);
    CHECK(e >= 40);
    CHECK(lseek(30, 0, SEEK_CUR) == 8 && lseek(e, 0, SEEK_CUR) == 8);
    CHECK(write(30, "ab", 2) == 2);
    CHECK(lseek(e, 0, SEEK_CUR) == 10);
    int o = open("f", O_RDWR);
    CHECK(lseek(o, 0, SEEK_CUR) == 0);
    CHECK(read(o, b, 4) == 4 && memcmp(b, "0123", 4) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 10);
    CHECK(write(o, "XY", 2) == 2);
    CHECK(lseek(fd, 0, SEEK_CUR) == 10);
    CHECK(lseek(o, 0, SEEK_CUR) == 6);
    /* the offset survives closing the original */
    CHECK(close(fd) == 0);
    CHECK(lseek(d, -4, SEEK_END) == 6);
    CHECK(read(e, b, 8) == 4 && memcmp(b, "67ab", 4) == 0);
    CHECK(lseek(30, 0, SEEK_CUR) == 10);
    CHECK(pread(d, b, 10, 0) == 10);
    SAY("%.10s", b);
    CHECK(close(d) == 0 && close(e) == 0 && close(30) == 0 && close(o) == 0);
    leave();
    return DONE();
}
