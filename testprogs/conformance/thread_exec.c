/* execve from a thread: the other threads go, the new image runs alone with the process's id. */
#include "conf.h"
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t pid;

static void *execer(void *arg) {
    (void)arg;
    char *argv[] = {"thread_exec", "child", NULL};
    execv("/proc/self/exe", argv);
    SAY("exec failed");
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        /* The new image: one thread, whose id is the process's. */
        CHECK(syscall(SYS_gettid) == getpid());
        SAY("new image runs");
        return DONE();
    }
    pid = getpid();
    SAY("first image starts a thread that execs");
    pthread_t t;
    /* Nothing printed after this: the exec may come first. */
    if (pthread_create(&t, NULL, execer, NULL) != 0)
        SAY("pthread_create failed");
    for (;;)
        pause(); /* ends with the exec */
}
