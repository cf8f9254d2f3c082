/* pread/pwrite: explicit offsets, the file offset is left alone, past the end, EINVAL for a negative offset. */
#include "conf.h"
#define WORKDIR "file_pread.d"
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
    CHECK(write(fd, "abcdefghij", 10) == 10);
    CHECK(lseek(fd, 3, SEEK_SET) == 3);
    char b[128] = {0};
    CHECK(pread(fd, b, 4, 5) == 4 && memcmp(b, "fghi", 4) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 3);
    CHECK(pread(fd, b, 100, 8) == 2 && memcmp(b, "ij", 2) == 0);
    CHECK(pread(fd, b, 5, 10) == 0);
    CHECK(pread(fd, b, 5, 1000) == 0);
    CHECK(pwrite(fd, "XY", 2, 1) == 2);
    CHECK(lseek(fd, 0, SEEK_CUR) == 3);
    CHECK(read(fd, b, 3) == 3 && memcmp(b, "def", 3) == 0);
    CHECK(pread(fd, b, 10, 0) == 10 && memcmp(b, "aXYdefghij", 10) == 0);
    /* pwrite past the end grows the file and leaves a zero hole */
    CHECK(pwrite(fd, "Z", 1, 20) == 1);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 21);
    memset(b, 'q', sizeof b);
    CHECK(pread(fd, b, sizeof b, 0) == 21);
    int zeros = 0;
    for (int i = 10; i < 20; i++)
        zeros += b[i] == 0;
    CHECK(zeros == 10 && b[20] == 'Z');
    CHECK(lseek(fd, 0, SEEK_CUR) == 6);
    ERR(pread(fd, b, 1, -1), EINVAL);
    ERR(pwrite(fd, "x", 1, -1), EINVAL);
    CHECK(pread(fd, b, 0, 3) == 0);
    CHECK(pwrite(fd, "x", 0, 50) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 21);
    /* a read-only descriptor can pread; its own offset stays at 0 */
    int r = open("f", O_RDONLY);
    CHECK(pread(r, b, 3, 1) == 3 && memcmp(b, "XYd", 3) == 0);
    CHECK(lseek(r, 0, SEEK_CUR) == 0);
    CHECK(close(fd) == 0 && close(r) == 0);
    leave();
    return DONE();
}
