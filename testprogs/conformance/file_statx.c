/* statx against fstat, its flag and mask checks; utime/utimes/futimesat on existing and
 * missing files; membarrier's query and private expedited barrier. */
#include "conf.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

/* The kernel's struct statx (musl's headers lack it). */
struct kts {
    long long tv_sec;
    unsigned tv_nsec;
    int reserved;
};
struct kstatx {
    unsigned stx_mask, stx_blksize;
    unsigned long long stx_attributes;
    unsigned stx_nlink, stx_uid, stx_gid;
    unsigned short stx_mode, spare0;
    unsigned long long stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct kts stx_atime, stx_btime, stx_ctime, stx_mtime;
    unsigned stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    unsigned long long spare[14];
};
#define K_STATX_TYPE 1u
#define K_STATX_SIZE 0x200u
#define K_STATX_BASIC_STATS 0x7ffu

int main(void) {
    int fd = open("file_statx.tmp", O_CREAT | O_RDWR | O_TRUNC, 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello statx", 11) == 11);
    struct stat st;
    struct kstatx sx;
    CHECK(fstat(fd, &st) == 0);
    CHECK(syscall(SYS_statx, AT_FDCWD, "file_statx.tmp", 0, K_STATX_BASIC_STATS, &sx) == 0);
    CHECK((sx.stx_mask & K_STATX_BASIC_STATS) == K_STATX_BASIC_STATS);
    CHECK(sx.stx_size == 11 && sx.stx_size == (unsigned long long)st.st_size);
    CHECK(sx.stx_mode == st.st_mode && sx.stx_ino == st.st_ino);
    CHECK(S_ISREG(sx.stx_mode) && (sx.stx_mode & 0777) == 0640);
    CHECK(syscall(SYS_statx, fd, "", AT_EMPTY_PATH, K_STATX_SIZE, &sx) == 0 && sx.stx_size == 11);
    CHECK(syscall(SYS_statx, AT_FDCWD, ".", 0, K_STATX_TYPE, &sx) == 0 && S_ISDIR(sx.stx_mode));
    ERR(syscall(SYS_statx, AT_FDCWD, "no-such-file", 0, K_STATX_BASIC_STATS, &sx), ENOENT);
    ERR(syscall(SYS_statx, AT_FDCWD, "file_statx.tmp", 0x40000000, K_STATX_BASIC_STATS, &sx), EINVAL);
    ERR(syscall(SYS_statx, AT_FDCWD, "file_statx.tmp", 0, 0x80000000u, &sx), EINVAL);
    ERR(syscall(SYS_statx, AT_FDCWD, "file_statx.tmp", 0, K_STATX_BASIC_STATS, (void *)8), EFAULT);
    /* Times: accepted for an existing file, ENOENT for a missing one. */
    struct utimbuf ub = {1000, 2000};
    CHECK(utime("file_statx.tmp", &ub) == 0);
    struct timeval tv[2] = {{1, 0}, {2, 0}};
    CHECK(utimes("file_statx.tmp", tv) == 0);
    CHECK(syscall(SYS_futimesat, AT_FDCWD, "file_statx.tmp", tv) == 0);
    ERR(utime("no-such-file", &ub), ENOENT);
    ERR(utimes("no-such-file", tv), ENOENT);
    CHECK(close(fd) == 0 && unlink("file_statx.tmp") == 0);
    /* membarrier: the private expedited barrier needs registering first. */
    long q = syscall(SYS_membarrier, 0, 0);
    CHECK(q >= 0 && (q & 8) && (q & 16));
    ERR(syscall(SYS_membarrier, 8, 0), EPERM);
    CHECK(syscall(SYS_membarrier, 16, 0) == 0);
    CHECK(syscall(SYS_membarrier, 8, 0) == 0);
    ERR(syscall(SYS_membarrier, 0, 1), EINVAL);
    return DONE();
}
