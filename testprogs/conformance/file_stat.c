/* stat/fstat/lstat on a regular file: type, size as it changes, link count, same inode through all three. */
#include "conf.h"
#define WORKDIR "file_stat.d"
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
    struct stat a, b, c;
    CHECK(fstat(fd, &a) == 0);
    CHECK(S_ISREG(a.st_mode) && !S_ISDIR(a.st_mode) && !S_ISFIFO(a.st_mode));
    CHECK(a.st_size == 0);
    CHECK(a.st_nlink == 1);
    CHECK(write(fd, "twelve bytes", 12) == 12);
    CHECK(fstat(fd, &a) == 0 && a.st_size == 12);
    CHECK(stat("f", &b) == 0 && b.st_size == 12);
    CHECK(lstat("f", &c) == 0 && c.st_size == 12);
    CHECK(a.st_ino == b.st_ino && b.st_ino == c.st_ino);
    CHECK(a.st_dev == b.st_dev && b.st_dev == c.st_dev);
    CHECK(S_ISREG(b.st_mode) && S_ISREG(c.st_mode));
    CHECK(stat("./f", &b) == 0 && b.st_ino == a.st_ino);
    CHECK(fstatat(AT_FDCWD, "f", &b, 0) == 0 && b.st_size == 12);
    /* another file has another inode */
    int g = open("g", O_RDWR | O_CREAT, 0644);
    CHECK(fstat(g, &b) == 0 && b.st_ino != a.st_ino && b.st_size == 0);
    CHECK(pwrite(g, "x", 1, 4095) == 1);
    CHECK(fstat(g, &b) == 0 && b.st_size == 4096);
    CHECK(stat(".", &c) == 0 && S_ISDIR(c.st_mode));
    CHECK(c.st_dev == a.st_dev);
    CHECK(fstat(fd, &a) == 0 && a.st_blksize > 0);
    /* a hard link raises the count */
    CHECK(link("f", "f2") == 0);
    CHECK(fstat(fd, &a) == 0 && a.st_nlink == 2);
    CHECK(stat("f2", &b) == 0 && b.st_ino == a.st_ino && b.st_size == 12);
    CHECK(unlink("f2") == 0);
    CHECK(fstat(fd, &a) == 0 && a.st_nlink == 1);
    ERR(stat("missing", &a), ENOENT);
    ERR(lstat("missing", &a), ENOENT);
    ERR(stat("f/", &a), ENOTDIR);
    ERR(stat("f/x", &a), ENOTDIR);
    CHECK(close(fd) == 0 && close(g) == 0);
    leave();
    return DONE();
}
