/* getpid, gettid, getppid: a single-threaded process's tid is its pid; values are stable. */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    pid_t p = getpid();
    CHECK(p > 0);
    CHECK(syscall(SYS_gettid) == p);
    CHECK(syscall(SYS_getpid) == p);
    CHECK(getpid() == p);
    CHECK(getppid() > 0);
    CHECK(getppid() != p);
    CHECK(syscall(SYS_getppid) == getppid());
    CHECK(gettid() == p);
    CHECK(kill(p, 0) == 0);
    CHECK(syscall(SYS_tgkill, p, p, 0) == 0);
    CHECK(syscall(SYS_set_tid_address, &p) == p);
    return DONE();
}
