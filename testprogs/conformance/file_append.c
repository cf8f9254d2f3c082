/* O_APPEND: every write goes to the end whatever the offset, reads still use the offset, pwrite appends too (Linux). */
#include "conf.h"
#define WORKDIR "file_append.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(write(fd, "base", 4) == 4 && close(fd) == 0);
    fd = open("f", O_RDWR | O_APPEND);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    char b[32] = {0};
    CHECK(read(fd, b, 2) == 2 && memcmp(b, "ba", 2) == 0);
    CHECK(write(fd, "-one", 4) == 4);
    CHECK(lseek(fd, 0, SEEK_CUR) == 8);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(write(fd, "-two", 4) == 4);
    CHECK(lseek(fd, 0, SEEK_CUR) == 12);
    CHECK(lseek(fd, 100, SEEK_SET) == 100);
    CHECK(write(fd, "!", 1) == 1);
    CHECK(lseek(fd, 0, SEEK_CUR) == 13);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 13);
    /* Linux: pwrite on an O_APPEND descriptor appends, ignoring the offset */
    CHECK(pwrite(fd, "P", 1, 0) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 14);
    memset(b, 0, sizeof b);
    CHECK(pread(fd, b, sizeof b, 0) == 14);
    SAY("%s", b);
    /* two appenders interleave without overwriting */
    int g = open("f", O_WRONLY | O_APPEND);
    CHECK(write(g, "<g>", 3) == 3);
    CHECK(write(fd, "<f>", 3) == 3);
    CHECK(write(g, "<g>", 3) == 3);
    memset(b, 0, sizeof b);
    CHECK(pread(fd, b, sizeof b, 0) == 23);
    SAY("%s", b);
    /* a non-append writer at offset 0 overwrites */
    int h = open("f", O_WRONLY);
    CHECK(write(h, "BASE", 4) == 4);
    CHECK(pread(fd, b, 4, 0) == 4 && memcmp(b, "BASE", 4) == 0);
    CHECK(close(fd) == 0 && close(g) == 0 && close(h) == 0);
    leave();
    return DONE();
}
