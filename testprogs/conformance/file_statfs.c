/* statfs and fstatfs of the working directory's file system; sync and syncfs; flock and
 * posix_fadvise argument checks. Values that differ between machines are not printed. */
#include "conf.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/statfs.h>
#include <unistd.h>

int main(void) {
    struct statfs a, b;
    CHECK(statfs(".", &a) == 0);
    CHECK(a.f_bsize > 0 && a.f_blocks > 0 && a.f_bfree <= a.f_blocks && a.f_namelen >= 255);
    int fd = open("file_statfs.tmp", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(fstatfs(fd, &b) == 0 && b.f_type == a.f_type && b.f_bsize == a.f_bsize);
    ERR(statfs("no/such/dir", &a), ENOENT);
    ERR(fstatfs(99, &b), EBADF);
    CHECK(write(fd, "data", 4) == 4);
    sync();
    CHECK(syncfs(fd) == 0);
    ERR(syncfs(99), EBADF);
    CHECK(flock(fd, LOCK_EX) == 0 && flock(fd, LOCK_UN) == 0);
    CHECK(flock(fd, LOCK_SH | LOCK_NB) == 0 && flock(fd, LOCK_UN) == 0);
    ERR(flock(fd, 0), EINVAL);
    ERR(flock(99, LOCK_EX), EBADF);
    CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0);
    CHECK(posix_fadvise(fd, 0, 0, 99) == EINVAL);
    CHECK(posix_fadvise(99, 0, 0, POSIX_FADV_NORMAL) == EBADF);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL) == ESPIPE);
    CHECK(close(fd) == 0 && unlink("file_statfs.tmp") == 0);
    return DONE();
}
