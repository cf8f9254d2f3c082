/* access/faccessat: F_OK and R_OK/W_OK on own files, ENOENT, ENOTDIR, EINVAL for a bad mode or flags. */
#include "conf.h"
#define WORKDIR "path_access.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    int fd = open("f", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(mkdir("d", 0755) == 0);
    CHECK(access("f", F_OK) == 0);
    CHECK(access("f", R_OK) == 0);
    CHECK(access("f", W_OK) == 0);
    CHECK(access("f", R_OK | W_OK) == 0);
    CHECK(access("d", F_OK) == 0);
    CHECK(access("d", R_OK) == 0);
    CHECK(access(".", F_OK) == 0);
    CHECK(access("d/..", F_OK) == 0);
    ERR(access("missing", F_OK), ENOENT);
    ERR(access("missing", R_OK), ENOENT);
    ERR(access("d/missing", F_OK), ENOENT);
    ERR(access("f/x", F_OK), ENOTDIR);
    ERR(access("f/", F_OK), ENOTDIR);
    ERR(access("", F_OK), ENOENT);
    ERR(access("f", 0x80), EINVAL);
    CHECK(access("/dev/null", R_OK | W_OK) == 0);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    fd = openat(dfd, "g", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(faccessat(dfd, "g", F_OK, 0) == 0);
    CHECK(faccessat(dfd, "g", R_OK, 0) == 0);
    CHECK(faccessat(AT_FDCWD, "d/g", F_OK, 0) == 0);
    CHECK(faccessat(AT_FDCWD, "f", R_OK, AT_EACCESS) == 0);
    ERR(faccessat(dfd, "f", F_OK, 0), ENOENT);
    int here = AT_FDCWD;
    ERR(faccessat(here, "f", F_OK, 0x40000000), EINVAL);
    ERR(faccessat(-1, "g", F_OK, 0), EBADF);
    int reg = open("f", O_RDONLY);
    ERR(faccessat(reg, "g", F_OK, 0), ENOTDIR);
    CHECK(faccessat(-1, "/dev/null", F_OK, 0) == 0);
    CHECK(close(dfd) == 0 && close(reg) == 0);
    /* after unlink */
    CHECK(unlink("f") == 0);
    ERR(access("f", F_OK), ENOENT);
    leave();
    return DONE();
}
