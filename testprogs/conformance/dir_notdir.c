/* Files where directories are expected and the reverse: ENOTDIR, EISDIR, EEXIST, EINVAL for rmdir of '.'. */
#include "conf.h"
#define WORKDIR "dir_notdir.d"
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
    CHECK(mkdir("d", 0755) == 0);
    ERR(rmdir("f"), ENOTDIR);
    ERR(rmdir("f/"), ENOTDIR);
    ERR(mkdir("f", 0755), EEXIST);
    ERR(mkdir("f/x", 0755), ENOTDIR);
    ERR(stat("f/x", &st), ENOTDIR);
    ERR(stat("f/", &st), ENOTDIR);
    ERR(chdir("f"), ENOTDIR);
    ERR(opendir("f") ? 0 : -1, ENOTDIR);
    ERR(unlink("d"), EISDIR);
    ERR(unlink("d/"), EISDIR);
    ERR(rmdir("."), EINVAL);
    ERR(rmdir("d/."), EINVAL);
    ERR(rmdir(".."), ENOTEMPTY);
    ERR(rmdir("d/.."), ENOTEMPTY);
    ERR(rmdir("missing"), ENOENT);
    ERR(rmdir("f/missing"), ENOTDIR);
    /* nothing above changed anything */
    CHECK(stat("f", &st) == 0 && S_ISREG(st.st_mode));
    CHECK(stat("d", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("d/", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("d/.", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(rmdir("d") == 0);
    CHECK(unlink("f") == 0);
    leave();
    return DONE();
}
