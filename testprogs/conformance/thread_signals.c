/* Signals and threads: per-thread masks, a process signal goes to a thread that does not
 * block it, pthread_kill targets one thread, sigaltstack is per thread. */
#include "conf.h"
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile pid_t handler_tid;
static volatile int handled, go;
static pid_t worker_tid;

static void on_usr(int sig) {
    (void)sig;
    handler_tid = (pid_t)syscall(SYS_gettid);
    handled++;
}

static void *worker(void *arg) {
    (void)arg;
    worker_tid = (pid_t)syscall(SYS_gettid);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    stack_t ss;
    sigaltstack(NULL, &ss);
    int no_altstack = (ss.ss_flags & SS_DISABLE) != 0;
    __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
    while (!handled)
        sched_yield();
    return (void *)(long)no_altstack;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_usr;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};
    CHECK(sigaltstack(&ss, NULL) == 0);

    /* The main thread blocks SIGUSR1 (the worker starts with the same mask, then clears it). */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &usr1, NULL) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
    while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST))
        sched_yield();
    /* A signal for the process: only the worker can take it. */
    CHECK(kill(getpid(), SIGUSR1) == 0);
    void *ret;
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(handled == 1);
    CHECK(handler_tid == worker_tid);
    CHECK(ret == (void *)1L); /* a new thread has no alternate stack */
    sigset_t now;
    CHECK(pthread_sigmask(SIG_SETMASK, NULL, &now) == 0);
    CHECK(sigismember(&now, SIGUSR1));
    stack_t mine;
    CHECK(sigaltstack(NULL, &mine) == 0 && !(mine.ss_flags & SS_DISABLE));

    /* pthread_kill of myself: delivered on return from the call. */
    handled = 0;
    CHECK(pthread_kill(pthread_self(), SIGUSR2) == 0);
    CHECK(handled == 1 && handler_tid == (pid_t)syscall(SYS_gettid));
    /* The blocked SIGUSR1 sent to the main thread waits for its unblock. */
    handled = 0;
    CHECK(pthread_kill(pthread_self(), SIGUSR1) == 0);
    CHECK(handled == 0);
    sigset_t pend;
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1));
    CHECK(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL) == 0);
    CHECK(handled == 1);
    return DONE();
}
