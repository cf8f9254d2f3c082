/* setitimer/getitimer: ITIMER_REAL round-trip and periodic firing, ITIMER_VIRTUAL/PROF fire under a busy loop, bad arguments EINVAL. */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int alrm, vt, prof;
static void h(int s) {
    if (s == SIGALRM) alrm++;
    if (s == SIGVTALRM) vt++;
    if (s == SIGPROF) prof++;
}
static long long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    signal(SIGALRM, h);
    signal(SIGVTALRM, h);
    signal(SIGPROF, h);
    int real = ITIMER_REAL; /* glibc and musl spell the constant differently */
    struct itimerval it = {{2, 0}, {10, 0}}, old, cur;
    CHECK(setitimer(ITIMER_REAL, &it, &old) == 0);
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    CHECK(cur.it_interval.tv_sec == 2 && cur.it_interval.tv_usec == 0);
    CHECK(cur.it_value.tv_sec == 9 || (cur.it_value.tv_sec == 10 && cur.it_value.tv_usec == 0));
    CHECK(cur.it_value.tv_usec >= 0 && cur.it_value.tv_usec < 1000000);
    it = (struct itimerval){{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &it, &old) == 0);
    CHECK(old.it_interval.tv_sec == 2 && (old.it_value.tv_sec == 9 || old.it_value.tv_sec == 10));
    CHECK(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
    CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 0);
    /* errors */
    it = (struct itimerval){{0, 0}, {0, 1000000}};
    ERR(setitimer(real, &it, 0), EINVAL);
    it = (struct itimerval){{0, 0}, {-1, 0}};
    ERR(setitimer(real, &it, 0), EINVAL);
    it = (struct itimerval){{0, -1}, {1, 0}};
    ERR(setitimer(real, &it, 0), EINVAL);
    ERR(setitimer(3, &it, 0), EINVAL);
    ERR(getitimer(12345, &cur), EINVAL);
    /* periodic real timer: three expiries */
    it = (struct itimerval){{0, 5000}, {0, 5000}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    sigset_t none;
    sigemptyset(&none);
    long long s = now();
    while (alrm < 3 && now() - s < 2000000000LL) sigsuspend(&none);
    it = (struct itimerval){{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    CHECK(alrm >= 3);
    CHECK(now() - s >= 15000000);
    /* virtual and profiling timers count CPU time */
    it = (struct itimerval){{0, 0}, {0, 10000}};
    CHECK(setitimer(ITIMER_VIRTUAL, &it, NULL) == 0);
    CHECK(setitimer(ITIMER_PROF, &it, NULL) == 0);
    CHECK(getitimer(ITIMER_VIRTUAL, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0);
    CHECK(cur.it_value.tv_usec <= 100000); /* Linux may add up to a tick */
    s = now();
    volatile unsigned long x = 0;
    while ((!vt || !prof) && now() - s < 2000000000LL)
        for (int i = 0; i < 1000; i++) x += i;
    CHECK(vt == 1 && prof == 1);
    CHECK(getitimer(ITIMER_VIRTUAL, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
    CHECK(getitimer(ITIMER_PROF, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
    return DONE();
}
