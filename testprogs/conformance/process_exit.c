/* exit() runs atexit handlers in reverse order and flushes stdio; _exit() does neither; exit_group ends the process. */
#include "conf.h"
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void first(void) { SAY("atexit: registered first, runs last"); }
static void second(void) { SAY("atexit: registered second, runs first"); }

int main(void) {
    int st;
    pid_t c = fork();
    if (c == 0) {
        atexit(first);
        atexit(second);
        exit(4);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 4);
    c = fork();
    if (c == 0) {
        atexit(first);
        setvbuf(stdout, NULL, _IOFBF, 1024);
        printf("this buffered line is lost\n");
        _exit(5);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 5);
    c = fork();
    if (c == 0) {
        setvbuf(stdout, NULL, _IOFBF, 1024);
        printf("a fully buffered line is flushed by exit\n");
        exit(6);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 6);
    c = fork();
    if (c == 0) {
        atexit(first);
        syscall(SYS_exit_group, 300);
        _exit(1);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 300 % 256);
    c = fork();
    if (c == 0) {
        syscall(SYS_exit, 8);
        _exit(1);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 8);
    c = fork();
    if (c == 0) return 9; /* returning from main is exit() */
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 9);
    return DONE();
}
