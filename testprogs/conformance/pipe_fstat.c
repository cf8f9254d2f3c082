/* fstat on pipes: both ends are S_ISFIFO, share an inode, and differ from another pipe. */
#include "conf.h"
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    int p[2], q[2];
    CHECK(pipe(p) == 0 && pipe(q) == 0);
    struct stat r, w, o;
    CHECK(fstat(p[0], &r) == 0);
    CHECK(fstat(p[1], &w) == 0);
    CHECK(fstat(q[0], &o) == 0);
    CHECK(S_ISFIFO(r.st_mode));
    CHECK(S_ISFIFO(w.st_mode));
    CHECK(!S_ISREG(r.st_mode) && !S_ISDIR(r.st_mode) && !S_ISCHR(r.st_mode));
    CHECK(r.st_ino == w.st_ino && r.st_dev == w.st_dev);
    CHECK(r.st_ino != o.st_ino);
    CHECK(r.st_nlink == 1);
    CHECK(write(p[1], "abcdef", 6) == 6);
    CHECK(fstat(p[0], &r) == 0 && S_ISFIFO(r.st_mode));
    int d = dup(p[1]);
    CHECK(fstat(d, &w) == 0 && S_ISFIFO(w.st_mode) && w.st_ino == r.st_ino);
    CHECK(close(p[0]) == 0);
    CHECK(fstat(p[1], &w) == 0 && S_ISFIFO(w.st_mode));
    CHECK(close(p[1]) == 0 && close(d) == 0 && close(q[0]) == 0 && close(q[1]) == 0);
    return DONE();
}
