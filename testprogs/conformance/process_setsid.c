/* setsid in a child: a new session and group led by it, a second setsid fails EPERM; the parent's session is unchanged. */
#include "conf.h"
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t sid = getsid(0), pg = getpgrp();
    pid_t c = fork();
    if (c == 0) {
        int bits = 0;
        pid_t me = getpid();
        bits |= (setsid() == me) << 0;
        bits |= (getsid(0) == me) << 1;
        bits |= (getpgrp() == me) << 2;
        bits |= (setsid() == -1 && errno == EPERM) << 3;
        bits |= (setpgid(0, 0) == -1 && errno == EPERM) << 4; /* a session leader cannot change its group */
        bits |= (getsid(getppid()) == sid) << 5;
        _exit(bits);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st));
    int bits = WEXITSTATUS(st);
    CHECK(bits & 1);
    CHECK(bits & 2);
    CHECK(bits & 4);
    CHECK(bits & 8);
    CHECK(bits & 16);
    CHECK(bits & 32);
    CHECK(getsid(0) == sid && getpgrp() == pg);
    /* a group leader cannot start a session: the child first makes its own group */
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        _exit(setsid() == -1 && errno == EPERM ? 0 : 1);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return DONE();
}
