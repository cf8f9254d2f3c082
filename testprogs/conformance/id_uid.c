/* getuid/geteuid/getgid/getegid and getresuid/getresgid agree; setting ids to their current values works. */
#include "conf.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    uid_t u = getuid(), eu = geteuid();
    gid_t g = getgid(), eg = getegid();
    CHECK(u == eu);
    CHECK(g == eg);
    uid_t r, e, s;
    gid_t rg, egg, sg;
    CHECK(getresuid(&r, &e, &s) == 0);
    CHECK(r == u && e == eu && s == eu);
    CHECK(getresgid(&rg, &egg, &sg) == 0);
    CHECK(rg == g && egg == eg && sg == eg);
    CHECK(syscall(SYS_getuid) == (long)u);
    CHECK(syscall(SYS_getegid) == (long)eg);
    CHECK(setuid(u) == 0);
    CHECK(setgid(g) == 0);
    CHECK(seteuid(eu) == 0);
    CHECK(setegid(eg) == 0);
    CHECK(setreuid(-1, -1) == 0);
    CHECK(setregid(-1, -1) == 0);
    CHECK(setresuid(-1, -1, -1) == 0);
    CHECK(setresgid(-1, -1, -1) == 0);
    CHECK(setresuid(u, u, u) == 0);
    CHECK(getuid() == u && geteuid() == eu);
    CHECK(getgid() == g && getegid() == eg);
    return DONE();
}
