/* A handler interrupting a blocking read: EINTR without SA_RESTART, restarted with it; nanosleep is never restarted. */
#include "conf.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int wfd = -1;
static volatile int calls;
static void h(int s) {
    (void)s;
    calls++;
    if (wfd >= 0 && calls == 1 && write(wfd, "x", 1) != 1) calls += 100;
}
/* a periodic timer: should a tick come before the call blocks, the next one still interrupts it */
static void arm(int ms) {
    struct itimerval it = {{0, ms * 1000}, {0, ms * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}
static void disarm(void) {
    struct itimerval it = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = 0;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    char c = 0;
    /* no SA_RESTART, the handler writes nothing: the read fails */
    arm(20);
    ERR(read(p[0], &c, 1), EINTR);
    disarm();
    CHECK(calls >= 1);

    /* SA_RESTART, the handler writes a byte: the restarted read gets it */
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    calls = 0;
    wfd = p[1];
    arm(20);
    CHECK(read(p[0], &c, 1) == 1 && c == 'x');
    disarm();
    CHECK(calls >= 1 && calls < 100);
    wfd = -1;

    /* nanosleep returns EINTR and the remaining time even with SA_RESTART */
    struct timespec rem = {0, 0};
    calls = 0;
    arm(10);
    ERR(nanosleep(&(struct timespec){5, 0}, &rem), EINTR);
    disarm();
    CHECK(calls >= 1);
    CHECK(rem.tv_sec >= 3 && rem.tv_sec <= 4 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000);
    /* an ignored signal does not interrupt anything */
    signal(SIGALRM, SIG_IGN);
    arm(5);
    CHECK(nanosleep(&(struct timespec){0, 30000000}, NULL) == 0);
    disarm();
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
