/* fcntl F_GETFL/F_SETFL: access mode, O_APPEND and O_NONBLOCK, shared by dup'd descriptors. */
#include "conf.h"
#define WORKDIR "fd_fcntl_fl.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <sys/stat.h>

int main(void) {
    enter();
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl != -1);
    CHECK((fl & O_ACCMODE) == O_RDWR);
    CHECK((fl & (O_APPEND | O_NONBLOCK)) == 0);
    /* the open-time-only flags are not kept */
    CHECK((fl & (O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)) == 0);
    CHECK(write(fd, "abcd", 4) == 4);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    int d = dup(fd);
    CHECK(fcntl(fd, F_SETFL, fl | O_APPEND) == 0);
    CHECK((fcntl(fd, F_GETFL) & O_APPEND) == O_APPEND);
    CHECK((fcntl(d, F_GETFL) & O_APPEND) == O_APPEND);
    CHECK(write(d, "ef", 2) == 2);
    CHECK(lseek(fd, 0, SEEK_CUR) == 6);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    char b[16] = {0};
    CHECK(read(fd, b, sizeof b) == 6);
    CHECK(memcmp(b, "abcdef", 6) == 0);
    CHECK(fcntl(d, F_SETFL, 0) == 0);
    CHECK((fcntl(fd, F_GETFL) & O_APPEND) == 0);
    CHECK(lseek(fd, 1, SEEK_SET) == 1);
    CHECK(write(fd, "X", 1) == 1);
    CHECK(pread(fd, b, 3, 0) == 3 && memcmp(b, "aXc", 3) == 0);
    /* F_SETFL cannot change the access mode */
    CHECK(fcntl(fd, F_SETFL, O_RDONLY) == 0);
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    CHECK(write(fd, "Y", 1) == 1);
    CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
    CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == O_NONBLOCK);
    CHECK(fcntl(fd, F_SETFL, 0) == 0);
    CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
    /* a separately opened description has its own flags */
    int o = open("f", O_RDONLY | O_APPEND);
    CHECK((fcntl(o, F_GETFL) & O_ACCMODE) == O_RDONLY);
    CHECK((fcntl(o, F_GETFL) & O_APPEND) == O_APPEND);
    CHECK((fcntl(fd, F_GETFL) & O_APPEND) == 0);
    int w = open("f", O_WRONLY);
    CHECK((fcntl(w, F_GETFL) & O_ACCMODE) == O_WRONLY);
    ERR(fcntl(-1, F_GETFL), EBADF);
    ERR(fcntl(999, F_SETFL, 0), EBADF);
    CHECK(close(fd) == 0 && close(d) == 0 && close(o) == 0 && close(w) == 0);
    leave();
    return DONE();
}
