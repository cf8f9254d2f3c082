/* fork + waitpid: the child sees 0, the parent the child's pid; exit statuses (low 8 bits), several children, ECHILD when none are left. */
#include "conf.h"
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) _exit(getpid() != parent && getppid() == parent ? 42 : 1);
    CHECK(c > 0 && c != parent);
    int st = -1;
    CHECK(waitpid(c, &st, 0) == c);
    CHECK(WIFEXITED(st) && !WIFSIGNALED(st));
    CHECK(WEXITSTATUS(st) == 42);
    /* exit() keeps only the low 8 bits */
    c = fork();
    if (c == 0) exit(256 + 3);
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 3);
    /* three children, reaped in any order; each status arrives once */
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] == 0) _exit(10 + i);
    }
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        pid_t w = wait(&st);
        for (int k = 0; k < 3; k++)
            if (w == kids[k] && WIFEXITED(st) && WEXITSTATUS(st) == 10 + k) seen |= 1 << k;
    }
    CHECK(seen == 7);
    ERR(wait(&st), ECHILD);
    ERR(waitpid(-1, &st, 0), ECHILD);
    ERR(waitpid(c, &st, 0), ECHILD); /* already reaped */
    /* a child's memory is a copy */
    static int shared_var = 5;
    c = fork();
    if (c == 0) {
        shared_var = 99;
        _exit(shared_var == 99 ? 0 : 1);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(shared_var == 5);
    /* waitpid with a NULL status pointer */
    c = fork();
    if (c == 0) _exit(0);
    CHECK(waitpid(c, NULL, 0) == c);
    return DONE();
}
