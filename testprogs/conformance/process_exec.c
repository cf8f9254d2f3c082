/* execve of /proc/self/exe with argv[1]="child": arguments and environment arrive, close-on-exec fds close, handlers reset, ignored signals and the mask stay. */
#include "conf.h"
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void h(int s) { (void)s; }

static int child(int argc, char **argv) {
    SAY("child: argc %d argv1 %s argv2 %s", argc, argv[1], argc > 2 ? argv[2] : "-");
    const char *v = getenv("CONF_EXEC_TEST");
    CHECK(v != NULL && strcmp(v, "hello world") == 0);
    CHECK(getenv("PATH") == NULL); /* only the environment we passed */
    CHECK(fcntl(10, F_GETFD) == 0);     /* inherited */
    CHECK(fcntl(11, F_GETFD) == -1 && errno == EBADF); /* was close-on-exec */
    struct sigaction sa;
    CHECK(sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
    CHECK(sigaction(SIGUSR2, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN);
    sigset_t cur;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGTERM) == 1);
    char c = 0;
    CHECK(read(10, &c, 1) == 1 && c == 0); /* fd 10 is /dev/zero */
    return DONE() ? 1 : 5;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child(argc, argv);
    CHECK(dup2(open("/dev/zero", O_RDONLY), 10) == 10);
    CHECK(dup3(10, 11, O_CLOEXEC) == 11);
    signal(SIGUSR1, h);
    signal(SIGUSR2, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t c = fork();
    if (c == 0) {
        char *av[] = {argv[0], "child", "x y", NULL};
        char *ev[] = {"CONF_EXEC_TEST=hello world", NULL};
        execve("/proc/self/exe", av, ev);
        _exit(99);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
    /* failing execs return to the caller */
    char *av[] = {"x", NULL};
    ERR(execve("/nonexistent", av, av + 1), ENOENT);
    ERR(execve("/", av, av + 1), EACCES);
    ERR(execve("/dev/null", av, av + 1), EACCES);
    CHECK(mkdir("process_exec.d", 0755) == 0);
    int fd = open("process_exec.d/script", O_WRONLY | O_CREAT, 0755);
    CHECK(fd >= 0 && write(fd, "garbage\n", 8) == 8 && close(fd) == 0);
    ERR(execve("process_exec.d/script", av, av + 1), ENOEXEC);
    fd = open("process_exec.d/noexec", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    ERR(execve("process_exec.d/noexec", av, av + 1), EACCES);
    ERR(execve("process_exec.d/script/x", av, av + 1), ENOTDIR);
    CHECK(unlink("process_exec.d/script") == 0 && unlink("process_exec.d/noexec") == 0);
    CHECK(rmdir("process_exec.d") == 0);
    return DONE();
}
