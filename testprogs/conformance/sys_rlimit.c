/* getrlimit/setrlimit/prlimit: soft <= hard, lowering and reading back, EMFILE at the file limit, bad resources EINVAL. */
#include "conf.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    struct rlimit r, r2, orig;
    CHECK(getrlimit(RLIMIT_NOFILE, &orig) == 0);
    CHECK(orig.rlim_cur <= orig.rlim_max);
    CHECK(orig.rlim_cur >= 64);
    CHECK(getrlimit(RLIMIT_STACK, &r) == 0 && r.rlim_cur <= r.rlim_max);
    CHECK(r.rlim_cur >= 65536);
    CHECK(getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur <= r.rlim_max);
    CHECK(getrlimit(RLIMIT_CORE, &r) == 0 && r.rlim_cur <= r.rlim_max);
    CHECK(getrlimit(RLIMIT_CPU, &r) == 0 && r.rlim_cur <= r.rlim_max);
    CHECK(prlimit(0, RLIMIT_NOFILE, NULL, &r2) == 0);
    CHECK(r2.rlim_cur == orig.rlim_cur && r2.rlim_max == orig.rlim_max);
    CHECK(prlimit(getpid(), RLIMIT_NOFILE, NULL, &r2) == 0 && r2.rlim_cur == orig.rlim_cur);
    CHECK(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, &r2) == 0 && r2.rlim_max == orig.rlim_max);

    /* lower the soft limit: the lowest free numbers stop at it */
    r.rlim_cur = 10;
    r.rlim_max = orig.rlim_max;
    CHECK(setrlimit(RLIMIT_NOFILE, &r) == 0);
    CHECK(getrlimit(RLIMIT_NOFILE, &r2) == 0 && r2.rlim_cur == 10 && r2.rlim_max == orig.rlim_max);
    int last = -1, n = 0, err = 0;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY);
        err = errno;
        if (fd < 0) break;
        last = fd;
        n++;
    }
    CHECK(err == EMFILE);
    CHECK(last == 9);
    ERR(dup(0), EMFILE);
    ERR(dup2(0, 10), EBADF);
    ERR(fcntl(0, F_DUPFD, 10), EINVAL);
    for (int fd = 3; fd <= last; fd++) close(fd);
    CHECK(n >= 1);
    /* raising soft above hard fails; prlimit returns the old value while setting */
    r.rlim_cur = orig.rlim_max == RLIM_INFINITY ? RLIM_INFINITY : orig.rlim_max + 1;
    r.rlim_max = orig.rlim_max;
    CHECK(orig.rlim_max == RLIM_INFINITY || (setrlimit(RLIMIT_NOFILE, &r) == -1 && errno == EINVAL));
    r.rlim_cur = 20;
    r.rlim_max = 10;
    CHECK(setrlimit(RLIMIT_NOFILE, &r) == -1 && errno == EINVAL);
    r.rlim_cur = 64;
    r.rlim_max = orig.rlim_max;
    CHECK(prlimit(0, RLIMIT_NOFILE, &r, &r2) == 0 && r2.rlim_cur == 10);
    CHECK(getrlimit(RLIMIT_NOFILE, &r2) == 0 && r2.rlim_cur == 64);
    /* bad resources and pids */
    CHECK(getrlimit(100, &r) == -1 && errno == EINVAL);
    CHECK(setrlimit(100, &r) == -1 && errno == EINVAL);
    ERR(syscall(SYS_prlimit64, 0, 100, 0, &r), EINVAL);
    ERR(syscall(SYS_prlimit64, 999999, 7, 0, &r), ESRCH);
    CHECK(setrlimit(RLIMIT_NOFILE, &orig) == 0);
    /* RLIMIT_STACK can be lowered and read back */
    CHECK(getrlimit(RLIMIT_STACK, &r) == 0);
    r2 = r;
    r2.rlim_cur = r.rlim_cur == RLIM_INFINITY || r.rlim_cur > (1 << 20) ? (1 << 20) : r.rlim_cur;
    CHECK(setrlimit(RLIMIT_STACK, &r2) == 0);
    CHECK(getrlimit(RLIMIT_STACK, &r) == 0 && r.rlim_cur == r2.rlim_cur && r.rlim_max == r2.rlim_max);
    return DONE();
}
