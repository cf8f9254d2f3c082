/* *at calls with a directory fd and AT_FDCWD: mkdirat, openat, fstatat, renameat, unlinkat (AT_REMOVEDIR), errors. */
#include "conf.h"
#define WORKDIR "dir_at.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    struct stat st;
    CHECK(mkdirat(AT_FDCWD, "top", 0755) == 0);
    int dfd = open("top", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK(mkdirat(dfd, "sub", 0755) == 0);
    CHECK(stat("top/sub", &st) == 0 && S_ISDIR(st.st_mode));
    ERR(mkdirat(dfd, "sub", 0755), EEXIST);
    int fd = openat(dfd, "sub/f", O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0 && write(fd, "xyz", 3) == 3 && close(fd) == 0);
    CHECK(fstatat(dfd, "sub/f", &st, 0) == 0 && S_ISREG(st.st_mode) && st.st_size == 3);
    CHECK(stat("top/sub/f", &st) == 0 && st.st_size == 3);
    /* the dirfd keeps pointing at its directory when the cwd changes */
    CHECK(chdir("top/sub") == 0);
    CHECK(fstatat(dfd, "sub/f", &st, 0) == 0);
    CHECK(fstatat(AT_FDCWD, "f", &st, 0) == 0 && st.st_size == 3);
    CHECK(chdir("../..") == 0);
    CHECK(renameat(dfd, "sub/f", AT_FDCWD, "g") == 0);
    CHECK(stat("g", &st) == 0 && st.st_size == 3);
    ERR(fstatat(dfd, "sub/f", &st, 0), ENOENT);
    CHECK(renameat(AT_FDCWD, "g", dfd, "h") == 0);
    CHECK(stat("top/h", &st) == 0);
    int sfd = openat(dfd, "sub", O_RDONLY | O_DIRECTORY);
    CHECK(sfd >= 0);
    CHECK(renameat(dfd, "h", sfd, "h2") == 0);
    CHECK(fstatat(sfd, "h2", &st, 0) == 0 && st.st_size == 3);
    ERR(unlinkat(dfd, "sub", 0), EISDIR);
    ERR(unlinkat(sfd, "h2", AT_REMOVEDIR), ENOTDIR);
    ERR(unlinkat(dfd, "sub", AT_REMOVEDIR), ENOTEMPTY);
    ERR(unlinkat(sfd, "h2", 0x1), EINVAL);
    CHECK(unlinkat(sfd, "h2", 0) == 0);
    CHECK(unlinkat(dfd, "sub", AT_REMOVEDIR) == 0);
    ERR(fstatat(dfd, "sub", &st, 0), ENOENT);
    /* a file descriptor that is not a directory, with a relative path */
    fd = openat(dfd, "file", O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);
    ERR(openat(fd, "x", O_RDONLY), ENOTDIR);
    ERR(mkdirat(fd, "x", 0755), ENOTDIR);
    ERR(fstatat(fd, "x", &st, 0), ENOTDIR);
    ERR(openat(-1, "x", O_RDONLY), EBADF);
    ERR(openat(999, "x", O_RDONLY), EBADF);
    ERR(mkdirat(999, "x", 0755), EBADF);
    /* an absolute path ignores the dirfd, even a bad one */
    int n = openat(-1, "/dev/null", O_RDONLY);
    CHECK(n >= 0 && close(n) == 0);
    n = openat(fd, "/dev/null", O_RDONLY);
    CHECK(n >= 0 && close(n) == 0);
    CHECK(unlinkat(dfd, "file", 0) == 0);
    CHECK(close(fd) == 0 && close(sfd) == 0 && close(dfd) == 0);
    CHECK(unlinkat(AT_FDCWD, "top", AT_REMOVEDIR) == 0);
    leave();
    return DONE();
}
