/* A pipe between parent and child: both directions, EOF once every writer is gone, SIGPIPE/EPIPE once the reader is gone. */
#include "conf.h"
#include <ctype.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int down[2], up[2];
    CHECK(pipe(down) == 0 && pipe(up) == 0);
    pid_t c = fork();
    if (c == 0) {
        close(down[1]);
        close(up[0]);
        char buf[64];
        ssize_t n;
        /* echo everything back in upper case until EOF */
        while ((n = read(down[0], buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
            if (write(up[1], buf, n) != n) _exit(2);
        }
        _exit(n == 0 ? 0 : 3);
    }
    CHECK(close(down[0]) == 0 && close(up[1]) == 0);
    const char *msg = "hello from the parent";
    CHECK(write(down[1], msg, strlen(msg)) == (ssize_t)strlen(msg));
    char got[64] = "";
    size_t have = 0;
    while (have < strlen(msg)) {
        ssize_t n = read(up[0], got + have, sizeof got - 1 - have);
        if (n <= 0) break;
        have += n;
    }
    got[have] = 0;
    CHECK(strcmp(got, "HELLO FROM THE PARENT") == 0);
    SAY("echo: %s", got);
    CHECK(close(down[1]) == 0); /* child sees EOF and exits */
    char b;
    CHECK(read(up[0], &b, 1) == 0);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(close(up[0]) == 0);
    /* a writer whose reader is gone: SIGPIPE kills it by default, EPIPE when SIGPIPE is ignored */
    for (int ignore = 0; ignore < 2; ignore++) {
        int p[2], go[2];
        CHECK(pipe(p) == 0 && pipe(go) == 0);
        c = fork();
        if (c == 0) {
            close(p[0]);
            close(go[1]);
            if (ignore) signal(SIGPIPE, SIG_IGN);
            char g;
            if (read(go[0], &g, 1) != 0) _exit(8); /* EOF: the parent has closed everything */
            _exit(write(p[1], "x", 1) < 0 && errno == EPIPE ? 6 : 7);
        }
        CHECK(close(p[0]) == 0 && close(p[1]) == 0 && close(go[0]) == 0);
        CHECK(close(go[1]) == 0);
        CHECK(waitpid(c, &st, 0) == c);
        if (!ignore) CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
        if (ignore) CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 6);
    }
    return DONE();
}
