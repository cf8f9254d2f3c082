/* chdir errors: a file ENOTDIR, a missing directory ENOENT, an empty path ENOENT; the cwd stays where it was. */
#include "conf.h"
#define WORKDIR "path_chdir_err.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <limits.h>

static char here[PATH_MAX];

static int unchanged(void) {
    char b[PATH_MAX];
    return getcwd(b, sizeof b) && !strcmp(b, here);
}

int main(void) {
    enter();
    CHECK(getcwd(here, sizeof here) != 0);
    int fd = open("file", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(mkdir("d", 0755) == 0);
    ERR(chdir("file"), ENOTDIR);
    CHECK(unchanged());
    ERR(chdir("file/"), ENOTDIR);
    ERR(chdir("file/x"), ENOTDIR);
    ERR(chdir("d/../file"), ENOTDIR);
    ERR(chdir("missing"), ENOENT);
    CHECK(unchanged());
    ERR(chdir("d/missing"), ENOENT);
    ERR(chdir("missing/.."), ENOENT);
    ERR(chdir(""), ENOENT);
    CHECK(unchanged());
    ERR(chdir("/dev/null"), ENOTDIR);
    CHECK(unchanged());
    /* fchdir */
    fd = open("file", O_RDONLY);
    ERR(fchdir(fd), ENOTDIR);
    CHECK(close(fd) == 0);
    ERR(fchdir(fd), EBADF);
    ERR(fchdir(-1), EBADF);
    CHECK(unchanged());
    int d = open("d", O_RDONLY | O_DIRECTORY);
    CHECK(fchdir(d) == 0);
    CHECK(!unchanged());
    CHECK(access("../file", F_OK) == 0);
    int up = open("..", O_RDONLY | O_DIRECTORY);
    CHECK(fchdir(up) == 0);
    CHECK(unchanged());
    CHECK(close(d) == 0 && close(up) == 0);
    leave();
    return DONE();
}
