/* fstatat: with AT_FDCWD and a directory fd, AT_SYMLINK_NOFOLLOW on non-links, AT_EMPTY_PATH, EINVAL for bad flags. */
#include "conf.h"
#define WORKDIR "dir_fstatat.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    CHECK(mkdir("d", 0755) == 0);
    int fd = open("d/f", O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0 && write(fd, "12345", 5) == 5);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    struct stat a, b, c;
    CHECK(fstatat(dfd, "f", &a, 0) == 0);
    CHECK(S_ISREG(a.st_mode) && a.st_size == 5);
    CHECK(fstatat(AT_FDCWD, "d/f", &b, 0) == 0 && b.st_ino == a.st_ino);
    CHECK(fstatat(dfd, "f", &c, AT_SYMLINK_NOFOLLOW) == 0 && c.st_ino == a.st_ino);
    CHECK(fstat(fd, &c) == 0 && c.st_ino == a.st_ino);
    /* the directory itself */
    CHECK(fstatat(dfd, ".", &b, 0) == 0 && S_ISDIR(b.st_mode));
    CHECK(fstat(dfd, &c) == 0 && c.st_ino == b.st_ino);
    CHECK(fstatat(AT_FDCWD, "d", &c, 0) == 0 && c.st_ino == b.st_ino);
    CHECK(fstatat(dfd, "..", &c, 0) == 0 && S_ISDIR(c.st_mode) && c.st_ino != b.st_ino);
    CHECK(stat(".", &a) == 0 && a.st_ino == c.st_ino);
    /* AT_EMPTY_PATH: the fd itself */
    CHECK(fstatat(fd, "", &a, AT_EMPTY_PATH) == 0 && S_ISREG(a.st_mode) && a.st_size == 5);
    CHECK(fstatat(dfd, "", &a, AT_EMPTY_PATH) == 0 && S_ISDIR(a.st_mode));
    ERR(fstatat(dfd, "", &a, 0), ENOENT);
    ERR(fstatat(dfd, "f", &a, 0x40000000), EINVAL);
    ERR(fstatat(dfd, "missing", &a, 0), ENOENT);
    ERR(fstatat(fd, "x", &a, 0), ENOTDIR);
    ERR(fstatat(-1, "f", &a, 0), EBADF);
    /* absolute paths ignore the fd */
    CHECK(fstatat(-1, "/", &a, 0) == 0 && S_ISDIR(a.st_mode));
    /* the size follows writes through another descriptor */
    CHECK(pwrite(fd, "x", 1, 99) == 1);
    CHECK(fstatat(dfd, "f", &a, 0) == 0 && a.st_size == 100);
    CHECK(close(fd) == 0 && close(dfd) == 0);
    leave();
    return DONE();
}
