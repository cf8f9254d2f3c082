/* getpgrp/getpgid/getsid succeed and agree; unknown pids give ESRCH. */
#include "conf.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    pid_t pg = getpgrp();
    CHECK(pg > 0);
    CHECK(getpgid(0) == pg);
    CHECK(getpgid(getpid()) == pg);
    CHECK(syscall(SYS_getpgrp) == pg);
    pid_t sid = getsid(0);
    CHECK(sid > 0);
    CHECK(getsid(getpid()) == sid);
    CHECK(getpgid(getppid()) > 0);
    CHECK(getsid(getppid()) > 0);
    ERR(getpgid(999999), ESRCH);
    ERR(getsid(999999), ESRCH);
    ERR(getpgid(-1), ESRCH);
    ERR(setpgid(999999, 0), ESRCH);
    ERR(setpgid(0, -1), EINVAL);
    return DONE();
}
