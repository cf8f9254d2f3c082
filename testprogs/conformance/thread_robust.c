/* A robust mutex whose owner thread ended holding it: the next locker gets EOWNERDEAD, makes
 * it consistent, and it works again. Also CPU time per thread. */
#include "conf.h"
#include <pthread.h>
#include <time.h>

static pthread_mutex_t m;

static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(&m);
    return NULL; /* ends without unlocking */
}

static double cpu(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *spin(void *arg) {
    (void)arg;
    double t0 = cpu(CLOCK_THREAD_CPUTIME_ID);
    volatile unsigned long x = 0;
    while (cpu(CLOCK_THREAD_CPUTIME_ID) - t0 < 0.05)
        x++;
    return NULL;
}

int main(void) {
    pthread_mutexattr_t a;
    CHECK(pthread_mutexattr_init(&a) == 0);
    CHECK(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0);
    CHECK(pthread_mutex_init(&m, &a) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, die_holding, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(pthread_mutex_lock(&m) == EOWNERDEAD);
    CHECK(pthread_mutex_consistent(&m) == 0);
    CHECK(pthread_mutex_unlock(&m) == 0);
    CHECK(pthread_mutex_lock(&m) == 0);
    CHECK(pthread_mutex_unlock(&m) == 0);

    /* A thread's CPU clock counts that thread: the spinner's 50 ms are not the main's. */
    double mine0 = cpu(CLOCK_THREAD_CPUTIME_ID), proc0 = cpu(CLOCK_PROCESS_CPUTIME_ID);
    CHECK(pthread_create(&t, NULL, spin, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(cpu(CLOCK_PROCESS_CPUTIME_ID) - proc0 >= 0.05);
    CHECK(cpu(CLOCK_THREAD_CPUTIME_ID) - mine0 < 0.04);
    return DONE();
}
