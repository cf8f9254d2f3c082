/* ftruncate/truncate: grow with zeros, shrink, the offset is unchanged, EINVAL/EISDIR/ENOENT cases. */
#include "conf.h"
#define WORKDIR "file_ftruncate.d"
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
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    CHECK(ftruncate(fd, 4) == 0);
    CHECK(size("f") == 4);
    CHECK(lseek(fd, 0, SEEK_CUR) == 10);
    char b[32];
    CHECK(read(fd, b, sizeof b) == 0);
    CHECK(pread(fd, b, sizeof b, 0) == 4 && memcmp(b, "0123", 4) == 0);
    CHECK(ftruncate(fd, 16) == 0);
    CHECK(size("f") == 16);
    memset(b, 'q', sizeof b);
    CHECK(pread(fd, b, sizeof b, 0) == 16);
    int zeros = 0;
    for (int i = 4; i < 16; i++)
        zeros += b[i] == 0;
    CHECK(memcmp(b, "0123", 4) == 0 && zeros == 12);
    /* writing at the old offset now fills from 10 */
    CHECK(write(fd, "AB", 2) == 2);
    CHECK(size("f") == 16);
    CHECK(truncate("f", 2) == 0);
    CHECK(size("f") == 2);
    CHECK(truncate("f", 8) == 0);
    CHECK(pread(fd, b, sizeof b, 0) == 8 && memcmp(b, "01\0\0\0\0\0\0", 8) == 0);
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(size("f") == 0);
    CHECK(ftruncate(fd, 0) == 0);
    /* a large sparse size */
    CHECK(ftruncate(fd, 8 << 20) == 0);
    CHECK(size("f") == 8 << 20);
    CHECK(pread(fd, b, 4, 5 << 20) == 4 && !b[0] && !b[3]);
    CHECK(ftruncate(fd, 3) == 0);
    ERR(ftruncate(fd, -1), EINVAL);
    ERR(truncate("f", -1), EINVAL);
    CHECK(size("f") == 3);
    int r = open("f", O_RDONLY);
    ERR(ftruncate(r, 0), EINVAL);
    CHECK(size("f") == 3);
    CHECK(mkdir("d", 0755) == 0);
    ERR(truncate("d", 0), EISDIR);
    ERR(truncate("missing", 0), ENOENT);
    ERR(truncate("f/x", 0), ENOTDIR);
    int p[2];
    CHECK(pipe(p) == 0);
    ERR(ftruncate(p[1], 0), EINVAL);
    CHECK(close(fd) == 0 && close(r) == 0 && close(p[0]) == 0 && close(p[1]) == 0);
    leave();
    return DONE();
}
