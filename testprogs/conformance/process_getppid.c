/* In a child: getppid is the parent's pid, getpid is new, process group and session are inherited. */
#include "conf.h"
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t me = getpid(), pg = getpgrp(), sid = getsid(0);
    pid_t c = fork();
    if (c == 0) {
        int bits = 0;
        bits |= (getppid() == me) << 0;
        bits |= (getpid() != me) << 1;
        bits |= (syscall(SYS_gettid) == getpid()) << 2;
        bits |= (getpgrp() == pg) << 3;
        bits |= (getsid(0) == sid) << 4;
        bits |= (getuid() == geteuid()) << 5;
        _exit(bits);
    }
    int st;
    CHECK(c > 0);
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st));
    int bits = WEXITSTATUS(st);
    CHECK(bits & 1);
    CHECK(bits & 2);
    CHECK(bits & 4);
    CHECK(bits & 8);
    CHECK(bits & 16);
    CHECK(bits & 32);
    CHECK(getpgid(c) == -1 && errno == ESRCH); /* reaped */
    /* the child's pid is what fork returned */
    int p[2];
    CHECK(pipe(p) == 0);
    c = fork();
    if (c == 0) {
        pid_t me2 = getpid();
        _exit(write(p[1], &me2, sizeof me2) == sizeof me2 ? 0 : 1);
    }
    pid_t reported = 0;
    CHECK(read(p[0], &reported, sizeof reported) == sizeof reported);
    CHECK(reported == c);
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 0);
    return DONE();
}
