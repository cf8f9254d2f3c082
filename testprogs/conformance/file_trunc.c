/* O_TRUNC: an existing file is emptied on open (also with O_RDONLY on Linux), a new one is created empty. */
#include "conf.h"
#define WORKDIR "file_trunc.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

static long size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

int main(void) {
    enter();
    int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    CHECK(close(fd) == 0);
    CHECK(size("f") == 10);
    /* without O_TRUNC nothing changes */
    fd = open("f", O_WRONLY);
    CHECK(write(fd, "ab", 2) == 2 && close(fd) == 0);
    CHECK(size("f") == 10);
    fd = open("f", O_RDWR | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(size("f") == 0);
    char b[16];
    CHECK(read(fd, b, sizeof b) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    CHECK(write(fd, "xyz", 3) == 3);
    CHECK(close(fd) == 0);
    CHECK(size("f") == 3);
    /* O_TRUNC with O_APPEND */
    fd = open("f", O_WRONLY | O_TRUNC | O_APPEND);
    CHECK(size("f") == 0);
    CHECK(write(fd, "12", 2) == 2 && write(fd, "34", 2) == 2);
    CHECK(close(fd) == 0);
    CHECK(size("f") == 4);
    /* another descriptor sees the truncation */
    int r = open("f", O_RDONLY);
    CHECK(read(r, b, 2) == 2);
    fd = open("f", O_WRONLY | O_TRUNC);
    CHECK(read(r, b, sizeof b) == 0);
    CHECK(lseek(r, 0, SEEK_CUR) == 2);
    CHECK(close(fd) == 0 && close(r) == 0);
    /* O_RDONLY|O_TRUNC truncates on Linux */
    fd = open("f", O_WRONLY);
    CHECK(write(fd, "abc", 3) == 3 && close(fd) == 0);
    CHECK(size("f") == 3);
    fd = open("f", O_RDONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(size("f") == 0);
    CHECK(close(fd) == 0);
    /* O_TRUNC on a new file */
    fd = open("g", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(size("g") == 0);
    /* /dev/null ignores O_TRUNC */
    fd = open("/dev/null", O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && close(fd) == 0);
    leave();
    return DONE();
}
