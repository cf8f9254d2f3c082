/* /dev/null: reads give end of file, writes of any size succeed, seeking is allowed, it is character device 1:3. */
#include "conf.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

static char big[1 << 20];

int main(void) {
    int fd = open("/dev/null", O_RDWR);
    CHECK(fd >= 0);
    char buf[16] = "unchanged";
    CHECK(read(fd, buf, sizeof buf) == 0);
    CHECK(strcmp(buf, "unchanged") == 0);
    CHECK(read(fd, buf, 0) == 0);
    CHECK(write(fd, "hello", 5) == 5);
    CHECK(write(fd, big, sizeof big) == (ssize_t)sizeof big);
    CHECK(write(fd, buf, 0) == 0);
    struct iovec iov[2] = {{big, 1000}, {buf, 16}};
    CHECK(writev(fd, iov, 2) == 1016);
    CHECK(readv(fd, iov, 2) == 0);
    CHECK(pwrite(fd, "x", 1, 12345) == 1);
    CHECK(pread(fd, buf, 1, 12345) == 0);
    CHECK(lseek(fd, 100, SEEK_SET) == 0);
    CHECK(lseek(fd, 0, SEEK_END) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(major(st.st_rdev) == 1 && minor(st.st_rdev) == 3);
    CHECK((st.st_mode & 0666) == 0666);
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(close(fd) == 0);
    fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0);
    ERR(read(fd, buf, 1), EBADF);
    CHECK(close(fd) == 0);
    fd = open("/dev/null", O_RDONLY);
    ERR(write(fd, buf, 1), EBADF);
    CHECK(close(fd) == 0);
    CHECK(access("/dev/null", R_OK | W_OK) == 0);
    return DONE();
}
