/* lseek: SEEK_SET/CUR/END, seeking past the end and writing leaves a hole of zeros, EINVAL cases. */
#include "conf.h"
#define WORKDIR "file_lseek.d"
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
    CHECK(lseek(fd, 0, SEEK_END) == 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(lseek(fd, 4, SEEK_SET) == 4);
    CHECK(lseek(fd, 2, SEEK_CUR) == 6);
    CHECK(lseek(fd, -3, SEEK_CUR) == 3);
    CHECK(lseek(fd, 0, SEEK_CUR) == 3);
    CHECK(lseek(fd, 0, SEEK_END) == 10);
    CHECK(lseek(fd, -4, SEEK_END) == 6);
    char b[8] = {0};
    CHECK(read(fd, b, 2) == 2 && memcmp(b, "67", 2) == 0);
    ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    ERR(lseek(fd, -9, SEEK_CUR), EINVAL);
    ERR(lseek(fd, -11, SEEK_END), EINVAL);
    ERR(lseek(fd, 0, 17), EINVAL);
    /* the failed seeks left the offset */
    CHECK(lseek(fd, 0, SEEK_CUR) == 8);
    /* beyond the end: allowed, reads give 0, size unchanged */
    CHECK(lseek(fd, 100, SEEK_SET) == 100);
    CHECK(read(fd, b, sizeof b) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 10);
    CHECK(lseek(fd, 10, SEEK_END) == 20);
    CHECK(write(fd, "end", 3) == 3);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 23);
    char all[32];
    memset(all, 'q', sizeof all);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(read(fd, all, sizeof all) == 23);
    int zeros = 0;
    for (int i = 10; i < 20; i++)
        zeros += all[i] == 0;
    CHECK(zeros == 10);
    CHECK(memcmp(all, "0123456789", 10) == 0 && memcmp(all + 20, "end", 3) == 0);
    /* a hole far away: 1 MiB */
    CHECK(lseek(fd, 1 << 20, SEEK_SET) == 1 << 20);
    CHECK(write(fd, "x", 1) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_size == (1 << 20) + 1);
    CHECK(pread(fd, b, 4, 500000) == 4 && !b[0] && !b[1] && !b[2] && !b[3]);
    /* a large offset is fine even without data */
    CHECK(lseek(fd, 1LL << 40, SEEK_SET) == 1LL << 40);
    CHECK(read(fd, b, 1) == 0);
    CHECK(close(fd) == 0);
    leave();
    return DONE();
}
