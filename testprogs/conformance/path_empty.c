/* An empty path name gives ENOENT everywhere: open, stat, access, mkdir, rmdir, unlink, chdir, rename, truncate. */
#include "conf.h"
#define WORKDIR "path_empty.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    struct stat st;
    int fd = open("f", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    ERR(open("", O_RDONLY), ENOENT);
    ERR(open("", O_WRONLY | O_CREAT, 0644), ENOENT);
    ERR(open("", O_RDONLY | O_DIRECTORY), ENOENT);
    ERR(stat("", &st), ENOENT);
    ERR(lstat("", &st), ENOENT);
    ERR(access("", F_OK), ENOENT);
    ERR(mkdir("", 0755), ENOENT);
    ERR(rmdir(""), ENOENT);
    ERR(unlink(""), ENOENT);
    ERR(chdir(""), ENOENT);
    ERR(rename("", "x"), ENOENT);
    ERR(rename("f", ""), ENOENT);
    ERR(truncate("", 0), ENOENT);
    ERR(link("f", ""), ENOENT);
    ERR(link("", "g"), ENOENT);
    char b[16];
    ERR(readlink("", b, sizeof b), ENOENT);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    ERR(openat(dfd, "", O_RDONLY), ENOENT);
    ERR(fstatat(dfd, "", &st, 0), ENOENT);
    ERR(mkdirat(dfd, "", 0755), ENOENT);
    ERR(unlinkat(dfd, "", 0), ENOENT);
    ERR(unlinkat(dfd, "", AT_REMOVEDIR), ENOENT);
    CHECK(close(dfd) == 0);
    /* nothing was touched */
    CHECK(stat("f", &st) == 0 && S_ISREG(st.st_mode));
    ERR(stat("x", &st), ENOENT);
    ERR(stat("g", &st), ENOENT);
    leave();
    return DONE();
}
