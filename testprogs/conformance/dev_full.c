/* /dev/full: writes fail with ENOSPC, reads give zeros, device 1:7. */
#include "conf.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
    int fd = open("/dev/full", O_RDWR);
    CHECK(fd >= 0);
    ERR(write(fd, "x", 1), ENOSPC);
    char buf[4096];
    memset(buf, 1, sizeof buf);
    ERR(write(fd, buf, sizeof buf), ENOSPC);
    struct iovec iov = {buf, 10};
    ERR(writev(fd, &iov, 1), ENOSPC);
    ERR(pwrite(fd, buf, 5, 0), ENOSPC);
    CHECK(read(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    int zero = 1;
    for (size_t i = 0; i < sizeof buf; i++) zero &= buf[i] == 0;
    CHECK(zero);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(major(st.st_rdev) == 1 && minor(st.st_rdev) == 7);
    CHECK(close(fd) == 0);
    /* stdio: the error shows up when the buffer is flushed */
    FILE *f = fopen("/dev/full", "w");
    CHECK(f != NULL);
    CHECK(fputs("hello", f) >= 0);
    CHECK(fflush(f) == EOF && errno == ENOSPC);
    CHECK(ferror(f));
    fclose(f);
    return DONE();
}
