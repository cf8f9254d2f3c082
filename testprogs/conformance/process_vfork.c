/* vfork: the parent waits until the child calls _exit; the child runs in the parent's memory. */
#include "conf.h"
#include <sys/wait.h>
#include <unistd.h>

static volatile int shared = 1;

int main(void) {
    pid_t me = getpid();
    pid_t c = vfork();
    if (c == 0) {
        shared = 2;
        _exit(getppid() == me ? 7 : 1);
    }
    CHECK(c > 0);
    CHECK(shared == 2); /* the child wrote it before the parent resumed */
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    /* a vfork child that fails to exec */
    c = vfork();
    if (c == 0) {
        char *argv[] = {"nope", NULL};
        execve("/nonexistent/program", argv, argv + 1);
        _exit(errno == ENOENT ? 3 : 4);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 3);
    ERR(wait(&st), ECHILD);
    return DONE();
}
