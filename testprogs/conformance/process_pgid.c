/* setpgid/getpgid with a child: it can become a group leader (from either side), groups can be signalled, errors ESRCH/EINVAL/EPERM. */
#include "conf.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t c = fork();
    if (c == 0) {
        close(go[1]);
        int ok = setpgid(0, 0) == 0 && getpgrp() == getpid() && getpgid(0) == getpid();
        char b;
        if (read(go[0], &b, 1) != 0) ok = 0; /* wait for EOF from the parent */
        _exit(ok ? 0 : 1);
    }
    close(go[0]);
    CHECK(setpgid(c, c) == 0); /* both sides may set it: whoever is first wins, the other is a no-op */
    CHECK(getpgid(c) == c);
    CHECK(getpgid(c) != getpgrp());
    CHECK(close(go[1]) == 0);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* signal a whole group */
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        for (;;) pause();
    }
    setpgid(c, c);
    CHECK(kill(-c, SIGTERM) == 0);
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    CHECK(waitpid(-c, &st, WNOHANG) == -1 && errno == ECHILD);
    /* errors */
    CHECK(setpgid(999999, 999999) == -1 && errno == ESRCH);
    CHECK(setpgid(0, -5) == -1 && errno == EINVAL);
    CHECK(setpgid(getppid(), getppid()) == -1 && (errno == ESRCH || errno == EPERM)); /* not our child */
    /* a child that has exec'd (here: exited and been reaped) can no longer be moved */
    CHECK(setpgid(c, c) == -1 && errno == ESRCH);
    /* moving a child into a group in another session is refused: use a child that made its own session */
    int p2[2];
    CHECK(pipe(p2) == 0);
    c = fork();
    if (c == 0) {
        close(p2[0]);
        setsid();
        if (write(p2[1], "s", 1) != 1) _exit(2);
        for (;;) pause();
    }
    close(p2[1]);
    char b;
    CHECK(read(p2[0], &b, 1) == 1);
    CHECK(setpgid(c, getpgrp()) == -1 && errno == EPERM);
    CHECK(getsid(c) == c);
    CHECK(kill(c, SIGKILL) == 0 && waitpid(c, &st, 0) == c);
    close(p2[0]);
    return DONE();
}
