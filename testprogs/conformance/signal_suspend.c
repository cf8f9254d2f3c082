/* sigsuspend waits with a temporary mask for a timer's SIGALRM, returns EINTR and restores the mask; pause(). */
#include "conf.h"
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms, usr1;
static void on_alrm(int s) { (void)s, alarms++; }
static void on_usr1(int s) { (void)s, usr1++; }

static void arm(int ms) {
    struct itimerval it = {{0, 0}, {0, ms * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
    sigset_t block, empty, cur;
    signal(SIGALRM, on_alrm);
    signal(SIGUSR1, on_usr1);
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&empty);
    arm(20);
    ERR(sigsuspend(&empty), EINTR);
    CHECK(alarms == 1);
    CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGALRM) == 1);
    /* an already pending signal makes sigsuspend return at once */
    raise(SIGUSR1);
    CHECK(usr1 == 0);
    ERR(sigsuspend(&empty), EINTR);
    CHECK(usr1 == 1);
    /* the suspend mask keeps SIGUSR1 blocked while SIGALRM is let through */
    raise(SIGUSR1);
    sigset_t only_usr1;
    sigemptyset(&only_usr1);
    sigaddset(&only_usr1, SIGUSR1);
    arm(10);
    ERR(sigsuspend(&only_usr1), EINTR);
    CHECK(alarms == 2 && usr1 == 1);
    sigset_t pend;
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1) == 1);
    sigprocmask(SIG_UNBLOCK, &only_usr1, NULL);
    CHECK(usr1 == 2);
    /* pause with SIGALRM unblocked */
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    arm(10);
    ERR(pause(), EINTR);
    CHECK(alarms == 3);
    return DONE();
}
