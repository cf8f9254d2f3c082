/* read and write on a regular file: counts, the moving offset, short reads and 0 at end of file. */
#include "conf.h"
#define WORKDIR "file_rw.d"
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
    CHECK(write(fd, "hello ", 6) == 6);
    CHECK(lseek(fd, 0, SEEK_CUR) == 6);
    CHECK(write(fd, "world\n", 6) == 6);
    CHECK(write(fd, "", 0) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 12);
    char b[64] = {0};
    CHECK(read(fd, b, sizeof b) == 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(read(fd, b, 5) == 5 && memcmp(b, "hello", 5) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 5);
    CHECK(read(fd, b, 0) == 0);
    CHECK(read(fd, b, sizeof b) == 7 && memcmp(b, " world\n", 7) == 0);
    CHECK(read(fd, b, sizeof b) == 0);
    CHECK(read(fd, b, sizeof b) == 0);
    /* overwrite in the middle */
    CHECK(lseek(fd, 6, SEEK_SET) == 6);
    CHECK(write(fd, "WORLD", 5) == 5);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    memset(b, 0, sizeof b);
    CHECK(read(fd, b, sizeof b) == 12);
    SAY("%s", b);
    /* another descriptor sees the data at once */
    int g = open("f", O_RDONLY);
    char c[64] = {0};
    CHECK(read(g, c, sizeof c) == 12 && memcmp(b, c, 12) == 0);
    /* many 1-byte writes */
    CHECK(lseek(fd, 0, SEEK_END) == 12);
    int ok = 1;
    for (int i = 0; i < 100; i++)
        ok &= write(fd, "0123456789" + i % 10, 1) == 1;
    CHECK(ok);
    CHECK(read(g, c, sizeof c) == 64);
    CHECK(read(g, c, sizeof c) == 36);
    CHECK(memcmp(c + 26, "0123456789", 10) == 0);
    CHECK(read(g, c, sizeof c) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 112);
    CHECK(close(fd) == 0 && close(g) == 0);
    leave();
    return DONE();
}
