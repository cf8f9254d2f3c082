/* alarm returns the remaining seconds of the previous alarm (rounded), alarm(0) cancels, an alarm fires SIGALRM. */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static volatile int alarms;
static void h(int s) { (void)s, alarms++; }

static void set_ms(long ms) {
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
    signal(SIGALRM, h);
    CHECK(alarm(0) == 0);
    CHECK(alarm(5) == 0);
    CHECK(alarm(3) == 5); /* 4.99... seconds left */
    struct itimerval it;
    CHECK(getitimer(ITIMER_REAL, &it) == 0);
    CHECK(it.it_value.tv_sec == 2 || (it.it_value.tv_sec == 3 && it.it_value.tv_usec == 0));
    CHECK(it.it_interval.tv_sec == 0 && it.it_interval.tv_usec == 0);
    CHECK(alarm(0) == 3);
    CHECK(alarm(0) == 0);
    CHECK(getitimer(ITIMER_REAL, &it) == 0 && it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0);
    /* sub-second remainders: alarm() never reports 0 for a pending alarm */
    set_ms(400);
    CHECK(alarm(0) == 1);
    set_ms(2700);
    CHECK(alarm(0) == 3);
    /* the raw syscall rounds to the nearest second (musl's alarm() uses setitimer and rounds up) */
    set_ms(1400);
    CHECK(syscall(SYS_alarm, 0) == 1);
    set_ms(1600);
    CHECK(syscall(SYS_alarm, 0) == 2);
    CHECK(syscall(SYS_alarm, 7) == 0);
    CHECK(syscall(SYS_alarm, 0) == 7);
    CHECK(alarms == 0);
    /* an alarm actually fires */
    set_ms(10);
    sigset_t none;
    sigemptyset(&none);
    while (!alarms) sigsuspend(&none);
    CHECK(alarms == 1);
    CHECK(alarm(0) == 0);
    return DONE();
}
