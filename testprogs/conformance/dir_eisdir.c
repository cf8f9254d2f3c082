/* Directory descriptors: read and pread give EISDIR, write EBADF, opening for write EISDIR, fstat says S_ISDIR. */
#include "conf.h"
#define WORKDIR "dir_eisdir.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <sys/uio.h>

int main(void) {
    enter();
    CHECK(mkdir("d", 0755) == 0);
    int fd = open("d", O_RDONLY);
    CHECK(fd >= 0);
    char b[64];
    ERR(read(fd, b, sizeof b), EISDIR);
    ERR(read(fd, b, 0), EISDIR);
    ERR(pread(fd, b, sizeof b, 0), EISDIR);
    struct iovec v = {b, sizeof b};
    ERR(readv(fd, &v, 1), EISDIR);
    ERR(write(fd, "x", 1), EBADF);
    ERR(open("d", O_WRONLY), EISDIR);
    ERR(open("d", O_RDWR), EISDIR);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    ERR(ftruncate(fd, 0), EINVAL);
    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(cwd >= 0);
    ERR(read(cwd, b, sizeof b), EISDIR);
    int dot = open("d/.", O_RDONLY);
    ERR(read(dot, b, 1), EISDIR);
    int dd = dup(fd);
    ERR(read(dd, b, 1), EISDIR);
    CHECK(close(fd) == 0 && close(cwd) == 0 && close(dot) == 0 && close(dd) == 0);
    leave();
    return DONE();
}
