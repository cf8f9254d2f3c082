/* A dead, unreaped child stays a zombie: waitid(WNOWAIT) peeks, kill(pid, 0) still finds it, waitpid reaps it, then it is gone. */
#include "conf.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t c = fork();
    if (c == 0) _exit(17);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOWAIT) == 0);
    CHECK(si.si_pid == c && si.si_signo == SIGCHLD);
    CHECK(si.si_code == CLD_EXITED && si.si_status == 17);
    CHECK(si.si_uid == getuid());
    CHECK(kill(c, 0) == 0); /* a zombie still exists */
    CHECK(kill(c, SIGKILL) == 0); /* and signals to it are accepted and ignored */
    CHECK(getpgid(c) == getpgrp());
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == c && si.si_status == 17);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 17);
    CHECK(kill(c, 0) == -1 && errno == ESRCH);
    CHECK(waitid(P_PID, c, &si, WEXITED) == -1 && errno == ECHILD);
    /* waitid reaps with si_code CLD_KILLED for a killed child */
    c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    CHECK(kill(c, SIGTERM) == 0);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED) == 0);
    CHECK(si.si_pid == c && si.si_code == CLD_KILLED && si.si_status == SIGTERM);
    CHECK(kill(c, 0) == -1 && errno == ESRCH);
    /* WNOHANG with nothing ready gives si_pid 0 */
    c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    memset(&si, 0xff, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0);
    CHECK(waitid(P_PID, c, &si, 0) == -1 && errno == EINVAL);
    CHECK(kill(c, SIGKILL) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    return DONE();
}
