/* The access mode is enforced: O_RDONLY cannot write, O_WRONLY cannot read (EBADF); O_RDWR can both. */
#include "conf.h"
#define WORKDIR "file_accmode.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <sys/uio.h>

int main(void) {
    enter();
    int w = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(w >= 0);
    CHECK((fcntl(w, F_GETFL) & O_ACCMODE) == O_WRONLY);
    char b[8];
    struct iovec v = {b, sizeof b};
    ERR(read(w, b, sizeof b), EBADF);
    ERR(pread(w, b, sizeof b, 0), EBADF);
    ERR(readv(w, &v, 1), EBADF);
    CHECK(write(w, "abcdef", 6) == 6);
    int r = open("f", O_RDONLY);
    CHECK(r >= 0);
    CHECK((fcntl(r, F_GETFL) & O_ACCMODE) == O_RDONLY);
    ERR(write(r, "x", 1), EBADF);
    ERR(pwrite(r, "x", 1, 0), EBADF);
    ERR(writev(r, &v, 1), EBADF);
    CHECK(read(r, b, 3) == 3 && memcmp(b, "abc", 3) == 0);
    /* the failed calls did not move the offsets */
    CHECK(lseek(w, 0, SEEK_CUR) == 6);
    CHECK(lseek(r, 0, SEEK_CUR) == 3);
    /* a failed write with zero length on a read-only fd */
    ERR(write(r, "x", 0), EBADF);
    int rw = open("f", O_RDWR);
    CHECK((fcntl(rw, F_GETFL) & O_ACCMODE) == O_RDWR);
    CHECK(read(rw, b, 2) == 2 && write(rw, "CD", 2) == 2);
    CHECK(pread(r, b, 6, 0) == 6 && memcmp(b, "abCDef", 6) == 0);
    /* dup keeps the access mode */
    int d = dup(r);
    ERR(write(d, "x", 1), EBADF);
    /* /dev/null follows the same rule */
    int n = open("/dev/null", O_RDONLY);
    ERR(write(n, "x", 1), EBADF);
    int nw = open("/dev/null", O_WRONLY);
    ERR(read(nw, b, 1), EBADF);
    CHECK(write(nw, "x", 1) == 1);
    CHECK(close(w) == 0 && close(r) == 0 && close(rw) == 0 && close(d) == 0 && close(n) == 0 && close(nw) == 0);
    leave();
    return DONE();
}
