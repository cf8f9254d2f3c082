/* wait4/waitpid with WNOHANG: ECHILD without children, 0 while the child runs, then its pid; bad options EINVAL; rusage filled. */
#include "conf.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int st;
    struct rusage ru;
    ERR(wait4(-1, &st, WNOHANG, &ru), ECHILD);
    ERR(waitpid(-1, &st, WNOHANG), ECHILD);
    ERR(waitpid(999999, &st, 0), ECHILD);
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(p[1]);
        ssize_t r = read(p[0], &b, 1); /* wait for the parent */
        _exit(r == 1 ? 7 : 1);
    }
    CHECK(c > 0);
    CHECK(waitpid(c, &st, WNOHANG) == 0);
    CHECK(wait4(-1, &st, WNOHANG, &ru) == 0);
    ERR(waitpid(c, &st, 0x40000000 | 0x1000), EINVAL);
    ERR(syscall(SYS_wait4, c, &st, 0x12345678, 0), EINVAL);
    CHECK(write(p[1], "g", 1) == 1);
    memset(&ru, 0xff, sizeof ru);
    CHECK(wait4(c, &st, 0, &ru) == c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    CHECK(ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
    CHECK(ru.ru_maxrss >= 0 && ru.ru_stime.tv_usec < 1000000);
    ERR(waitpid(c, &st, WNOHANG), ECHILD);
    /* WNOHANG on a child that has already exited returns it */
    c = fork();
    if (c == 0) _exit(9);
    siginfo_t si;
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOWAIT) == 0); /* wait without reaping */
    CHECK(waitpid(c, &st, WNOHANG) == c && WEXITSTATUS(st) == 9);
    close(p[0]);
    close(p[1]);
    return DONE();
}
