/* SIGCHLD: a handler gets CLD_EXITED/CLD_KILLED with the child's pid and status; SA_NOCLDWAIT and SIG_IGN reap children automatically. */
#include "conf.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int calls, code, status;
static volatile pid_t from;
static void h(int s, siginfo_t *si, void *uc) {
    (void)s, (void)uc;
    calls++;
    code = si->si_code;
    status = si->si_status;
    from = si->si_pid;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    sigset_t block, none;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &block, NULL);
    pid_t c = fork();
    if (c == 0) _exit(33);
    while (!calls) sigsuspend(&none);
    CHECK(calls == 1);
    CHECK(code == CLD_EXITED && status == 33 && from == c);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 33);
    c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    CHECK(kill(c, SIGKILL) == 0);
    while (calls < 2) sigsuspend(&none);
    CHECK(calls == 2 && code == CLD_KILLED && status == SIGKILL && from == c);
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st));
    /* SA_NOCLDSTOP: no SIGCHLD for a stop */
    sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP;
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st));
    sigset_t pend;
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGCHLD) == 0);
    CHECK(kill(c, SIGKILL) == 0);
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st));
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    CHECK(calls == 3);
    /* SA_NOCLDWAIT: no zombie; wait blocks until the child is gone, then ECHILD */
    sa.sa_flags = SA_SIGINFO | SA_NOCLDWAIT;
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    c = fork();
    if (c == 0) _exit(1);
    pid_t w;
    int err;
    do {
        w = waitpid(c, &st, 0);
        err = errno;
    } while (w == -1 && err == EINTR);
    CHECK(w == -1 && err == ECHILD);
    /* SIG_IGN for SIGCHLD also reaps automatically */
    signal(SIGCHLD, SIG_IGN);
    c = fork();
    if (c == 0) _exit(2);
    CHECK(wait(&st) == -1 && errno == ECHILD);
    CHECK(kill(c, 0) == -1 && errno == ESRCH);
    return DONE();
}
