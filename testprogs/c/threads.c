/* POSIX threads: creation and join, a contended mutex, a condition variable queue, a
 * barrier, thread-local storage, pthread_kill to one thread, detached threads, fork from a
 * threaded process, and a CPU-bound split whose CPU time over wall time says whether the
 * threads ran in parallel. Prints only deterministic lines (compared with a native run),
 * except "parallel: ..." which the test reads apart. Usage: threads [NTHREADS] [WORK] [MIB]:
 * with MIB, only the memory part runs: each thread writes and checks MIB MiB of its own
 * while the others run (misses and evictions under threads running in parallel). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c)                                                       \
    do {                                                               \
        if (!(c)) {                                                    \
            printf("FAIL %d: %s\n", __LINE__, #c);                     \
            exit(1);                                                   \
        }                                                              \
    } while (0)

static int nthreads = 4;
static long work = 20000000;

/* --- a CPU-bound split --- */
struct part {
    long lo, hi;
    uint64_t sum;
};

static uint64_t mix(uint64_t x) {
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 29);
}

static void *crunch(void *arg) {
    struct part *p = arg;
    uint64_t s = 0;
    for (long i = p->lo; i < p->hi; i++)
        s += mix((uint64_t)i);
    p->sum = s;
    return p;
}

static double secs(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* --- a contended mutex --- */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *bump(void *arg) {
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        long v = counter;
        if (i % 1000 == 0)
            sched_yield(); /* hold the lock across a switch now and then */
        counter = v + 1;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

/* --- a bounded queue with condition variables --- */
#define QCAP 8
static int queue[QCAP], qhead, qlen;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notempty = PTHREAD_COND_INITIALIZER, notfull = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg) {
    long n = (long)arg;
    for (int i = 1; i <= n; i++) {
        pthread_mutex_lock(&qlock);
        while (qlen == QCAP)
            pthread_cond_wait(&notfull, &qlock);
        queue[(qhead + qlen++) % QCAP] = i;
        pthread_cond_signal(&notempty);
        pthread_mutex_unlock(&qlock);
    }
    return NULL;
}

static void *consumer(void *arg) {
    long n = (long)arg, sum = 0;
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&qlock);
        while (qlen == 0)
            pthread_cond_wait(&notempty, &qlock);
        sum += queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        pthread_cond_signal(&notfull);
        pthread_mutex_unlock(&qlock);
    }
    return (void *)sum;
}

/* --- a barrier and thread-local storage --- */
static pthread_barrier_t barrier;
static __thread long mine = 7;
static long seen[16];

static void *tls_user(void *arg) {
    long k = (long)arg;
    mine = 100 + k;
    pthread_barrier_wait(&barrier); /* every thread has written its own copy */
    seen[k] = mine;
    pthread_barrier_wait(&barrier);
    return NULL;
}

/* --- pthread_kill reaches the thread named --- */
static volatile pid_t handled_by;
static volatile int ready_for_signal, got_signal;

static void on_usr1(int sig) {
    (void)sig;
    handled_by = (pid_t)syscall(SYS_gettid);
    got_signal = 1;
}

static void *signal_target(void *arg) {
    pid_t *tid = arg;
    *tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&ready_for_signal, 1, __ATOMIC_SEQ_CST);
    while (!got_signal)
        sched_yield();
    return NULL;
}

/* --- detached threads --- */
static int detached_done;
static pthread_mutex_t dlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dcond = PTHREAD_COND_INITIALIZER;

static void *detached(void *arg) {
    (void)arg;
    pthread_mutex_lock(&dlock);
    detached_done++;
    pthread_cond_broadcast(&dcond);
    pthread_mutex_unlock(&dlock);
    return NULL;
}

/* --- memory: each thread fills and checks its own region, several passes --- */
static long mib;

static void *memory_user(void *arg) {
    long k = (long)arg;
    size_t n = (size_t)mib << 20;
    unsigned char *b = malloc(n);
    if (!b)
        return (void *)1L;
    uint64_t bad = 0;
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < n; i += 512)
            b[i] = (unsigned char)(mix(i + k * 7919 + pass) & 0xff);
        for (size_t i = 0; i < n; i += 512)
            bad += b[i] != (unsigned char)(mix(i + k * 7919 + pass) & 0xff);
    }
    free(b);
    return (void *)(long)(bad ? 2 : 0);
}

static int memory_only(void) {
    pthread_t t[16];
    for (long i = 0; i < nthreads; i++)
        CHECK(pthread_create(&t[i], NULL, memory_user, (void *)i) == 0);
    for (int i = 0; i < nthreads; i++) {
        void *r;
        CHECK(pthread_join(t[i], &r) == 0);
        CHECK(r == NULL);
    }
    printf("memory: %d threads x %ld MiB ok\n", nthreads, mib);
    return 0;
}

/* --- a thread that sleeps while another forks --- */
static void *sleeper(void *arg) {
    (void)arg;
    struct timespec t = {0, 20 * 1000 * 1000};
    nanosleep(&t, NULL);
    return (void *)42;
}

int main(int argc, char **argv) {
    if (argc > 1)
        nthreads = atoi(argv[1]);
    if (argc > 2)
        work = atol(argv[2]);
    CHECK(nthreads >= 1 && nthreads <= 16);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 3) {
        mib = atol(argv[3]);
        return memory_only();
    }

    /* 1: the split, checked against one thread doing it all. */
    pthread_t t[16];
    struct part parts[16];
    double w0 = secs(CLOCK_MONOTONIC), c0 = secs(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < nthreads; i++) {
        parts[i].lo = work * i / nthreads;
        parts[i].hi = work * (i + 1) / nthreads;
        CHECK(pthread_create(&t[i], NULL, crunch, &parts[i]) == 0);
    }
    uint64_t total = 0;
    for (int i = 0; i < nthreads; i++) {
        void *ret;
        CHECK(pthread_join(t[i], &ret) == 0);
        CHECK(ret == &parts[i]);
        total += parts[i].sum;
    }
    double wall = secs(CLOCK_MONOTONIC) - w0, cpu = secs(CLOCK_PROCESS_CPUTIME_ID) - c0;
    struct part whole = {0, work, 0};
    crunch(&whole);
    CHECK(total == whole.sum);
    printf("split: %d threads, sum %llx\n", nthreads, (unsigned long long)total);
    fprintf(stderr, "parallel: cpu %.3f s wall %.3f s ratio %.2f\n", cpu, wall, cpu / wall);

    /* 2: a contended mutex. */
    counter = 0;
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_create(&t[i], NULL, bump, (void *)20000L) == 0);
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    printf("mutex: %ld\n", counter);
    CHECK(counter == 20000L * nthreads);

    /* 3: producer and consumer. */
    pthread_t pr, co;
    CHECK(pthread_create(&pr, NULL, producer, (void *)5000L) == 0);
    CHECK(pthread_create(&co, NULL, consumer, (void *)5000L) == 0);
    void *qsum;
    CHECK(pthread_join(pr, NULL) == 0 && pthread_join(co, &qsum) == 0);
    printf("queue: %ld\n", (long)qsum);
    CHECK((long)qsum == 5000L * 5001 / 2);

    /* 4: barrier and TLS. */
    CHECK(pthread_barrier_init(&barrier, NULL, nthreads) == 0);
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_create(&t[i], NULL, tls_user, (void *)(long)i) == 0);
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    for (int i = 0; i < nthreads; i++)
        CHECK(seen[i] == 100 + i);
    CHECK(mine == 7);
    printf("tls: ok\n");

    /* 5: pthread_kill runs the handler on the thread named. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    pid_t target_tid = 0;
    pthread_t st;
    CHECK(pthread_create(&st, NULL, signal_target, &target_tid) == 0);
    while (!__atomic_load_n(&ready_for_signal, __ATOMIC_SEQ_CST))
        sched_yield();
    CHECK(pthread_kill(st, SIGUSR1) == 0);
    CHECK(pthread_join(st, NULL) == 0);
    CHECK(handled_by == target_tid);
    CHECK(target_tid != getpid());
    printf("pthread_kill: ok\n");

    /* 6: detached threads end on their own. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_create(&t[i], &attr, detached, NULL) == 0);
    pthread_mutex_lock(&dlock);
    while (detached_done < nthreads)
        pthread_cond_wait(&dcond, &dlock);
    pthread_mutex_unlock(&dlock);
    printf("detached: %d\n", detached_done);

    /* 7: fork while another thread sleeps: the child has one thread and runs. */
    pthread_t sl;
    CHECK(pthread_create(&sl, NULL, sleeper, NULL) == 0);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        CHECK(getpid() == (pid_t)syscall(SYS_gettid));
        _exit(counter == 20000L * nthreads ? 5 : 6);
    }
    int status;
    CHECK(waitpid(c, &status, 0) == c);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5);
    void *sret;
    CHECK(pthread_join(sl, &sret) == 0 && sret == (void *)42);
    printf("fork: ok\n");
    printf("threads: all ok\n");
    return 0;
}
