/* Credentials: setresuid/setresgid and friends change ids by Linux's rules; dropping root
 * for good makes the way back EPERM. Runs as root (as lego run and CI do). */
#include "conf.h"
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    CHECK(getuid() == 0 && geteuid() == 0);
    CHECK(getresuid(&r, &e, &s) == 0 && r == 0 && e == 0 && s == 0);
    ERR(syscall(SYS_getresuid, (void *)8, &e, &s), EFAULT);
    /* Groups: set, count, read back. */
    gid_t list[3] = {7, 8, 9}, got[8];
    CHECK(setgroups(3, list) == 0);
    CHECK(getgroups(0, NULL) == 3);
    CHECK(getgroups(8, got) == 3 && got[0] == 7 && got[2] == 9);
    ERR(getgroups(1, got), EINVAL);
    CHECK(setgroups(0, NULL) == 0 && getgroups(0, NULL) == 0);
    /* Group ids first (changing them needs root). */
    CHECK(setresgid(100, 101, 102) == 0);
    CHECK(getresgid(&gr, &ge, &gs) == 0 && gr == 100 && ge == 101 && gs == 102);
    CHECK(getgid() == 100 && getegid() == 101);
    CHECK(setregid(-1, 100) == 0 && getegid() == 100);
    /* A temporary drop: the saved uid keeps root. */
    CHECK(setresuid(-1, 1000, -1) == 0);
    CHECK(geteuid() == 1000 && getuid() == 0);
    CHECK(setfsuid(-1) == 1000);
    ERR(setgroups(0, NULL), EPERM);
    CHECK(seteuid(0) == 0 && geteuid() == 0);
    /* For good. */
    CHECK(setuid(1000) == 0);
    CHECK(getresuid(&r, &e, &s) == 0 && r == 1000 && e == 1000 && s == 1000);
    ERR(setuid(0), EPERM);
    ERR(setresuid(0, -1, -1), EPERM);
    ERR(setgid(5), EPERM);
    CHECK(setuid(1000) == 0);
    return DONE();
}
