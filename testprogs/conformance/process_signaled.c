/* Children ended by signals (WIFSIGNALED/WTERMSIG), stopped and continued children (WUNTRACED, WCONTINUED). */
#include "conf.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int *volatile bad = (volatile int *)16;

int main(void) {
    int st;
    pid_t c = fork();
    if (c == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    CHECK(waitpid(c, &st, 0) == c);
    CHECK(WIFSIGNALED(st) && !WIFEXITED(st));
    CHECK(WTERMSIG(st) == SIGTERM);
    c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    CHECK(kill(c, SIGKILL) == 0);
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    c = fork();
    if (c == 0) {
        return *bad;
    }
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    c = fork();
    if (c == 0) {
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    /* stop and continue */
    c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
    CHECK(kill(c, SIGCONT) == 0);
    CHECK(waitpid(c, &st, WCONTINUED) == c);
    CHECK(WIFCONTINUED(st));
    CHECK(kill(c, SIGUSR1) == 0); /* default action: terminate */
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1);
    return DONE();
}
