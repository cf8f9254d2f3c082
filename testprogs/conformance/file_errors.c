/* open errors: O_DIRECTORY on a file ENOTDIR, a file used as a directory ENOTDIR, a directory for writing EISDIR. */
#include "conf.h"
#define WORKDIR "file_errors.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(mkdir("d", 0755) == 0);
    ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
    ERR(open("f/", O_RDONLY), ENOTDIR);
    ERR(open("f/x", O_RDONLY), ENOTDIR);
    ERR(open("f/x", O_WRONLY | O_CREAT, 0644), ENOTDIR);
    ERR(open("f/.", O_RDONLY), ENOTDIR);
    ERR(open("f/..", O_RDONLY), ENOTDIR);
    ERR(open("d", O_WRONLY), EISDIR);
    ERR(open("d", O_RDWR), EISDIR);
    ERR(open("d", O_WRONLY | O_CREAT, 0644), EISDIR);
    ERR(open("d", O_RDONLY | O_TRUNC), EISDIR);
    ERR(open("d/", O_RDWR), EISDIR);
    fd = open("d", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0 && close(fd) == 0);
    fd = open("d", O_RDONLY);
    CHECK(fd >= 0 && close(fd) == 0);
    fd = open("d/", O_RDONLY);
    CHECK(fd >= 0 && close(fd) == 0);
    ERR(open("missing", O_RDONLY), ENOENT);
    ERR(open("missing/x", O_RDONLY), ENOENT);
    ERR(open("missing", O_RDONLY | O_DIRECTORY), ENOENT);
    ERR(open("d/missing", O_RDONLY), ENOENT);
    ERR(open("/dev/null", O_RDONLY | O_DIRECTORY), ENOTDIR);
    /* after errors the file is still there and untouched */
    struct stat st;
    CHECK(stat("f", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
    CHECK(stat("d", &st) == 0 && S_ISDIR(st.st_mode));
    leave();
    return DONE();
}
