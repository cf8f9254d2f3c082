/* fsync/fdatasync/sync: succeed on files (any access mode) and directories, EINVAL on a pipe, EBADF when closed. */
#include "conf.h"
#define WORKDIR "file_sync.d"
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
    CHECK(fsync(fd) == 0);
    CHECK(fdatasync(fd) == 0);
    CHECK(write(fd, "data", 4) == 4);
    CHECK(fsync(fd) == 0);
    CHECK(fdatasync(fd) == 0);
    int r = open("f", O_RDONLY);
    CHECK(fsync(r) == 0);
    CHECK(fdatasync(r) == 0);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(fsync(d) == 0);
    CHECK(fdatasync(d) == 0);
    sync();
    CHECK(syncfs(fd) == 0);
    char b[8];
    CHECK(pread(r, b, 8, 0) == 4 && memcmp(b, "data", 4) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    ERR(fsync(p[0]), EINVAL);
    ERR(fsync(p[1]), EINVAL);
    ERR(fdatasync(p[1]), EINVAL);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    int n = open("/dev/null", O_WRONLY);
    ERR(fsync(n), EINVAL);
    CHECK(close(n) == 0);
    CHECK(close(r) == 0);
    ERR(fsync(r), EBADF);
    ERR(fdatasync(r), EBADF);
    ERR(fsync(-1), EBADF);
    CHECK(close(fd) == 0 && close(d) == 0);
    leave();
    return DONE();
}
