/* Signals delivered to handlers: ./signals prints what each case saw (compared with a native
 * run); ./signals abort | resethand | term end the program by a signal; ./signals wait-int
 * waits for SIGINT and exits 7. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits[65];
static volatile int last_code, last_pid_ok;
static volatile uintptr_t last_addr;
static sigjmp_buf env;
static char altstack[65536];
static volatile int on_alt;

static void count(int sig) { hits[sig]++; }

static void info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits[sig]++;
    last_code = si->si_code;
    last_pid_ok = si->si_pid == getpid();
}

static void fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits[sig]++;
    last_code = si->si_code;
    last_addr = (uintptr_t)si->si_addr;
    char here;
    on_alt = &here >= altstack && &here < altstack + sizeof altstack;
    siglongjmp(env, sig);
}

static void fpu_mess(int sig) {
    /* Floating point in a handler must not leak into the interrupted code. */
    volatile double x = 1e300;
    for (int i = 0; i < 10; i++) x = x * 7.0 + 3.0;
    hits[sig]++;
}

static void on(int sig, void (*h)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, 0);
}

static void on_info(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, 0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "abort")) {
        on(SIGABRT, count, 0); /* a handler that returns: abort still ends the program */
        abort();
    }
    if (argc > 1 && !strcmp(argv[1], "resethand")) {
        on(SIGUSR1, count, SA_RESETHAND);
        raise(SIGUSR1);
        printf("first SIGUSR1 handled: %d\n", hits[SIGUSR1]);
        raise(SIGUSR1); /* the default now: terminate */
        printf("not reached\n");
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "wait-int")) {
        /* Ctrl-C on `lego run` reaches the handler. */
        on(SIGINT, count, 0);
        printf("ready\n");
        while (!hits[SIGINT]) pause();
        printf("SIGINT handled\n");
        return 7;
    }
    if (argc > 1 && !strcmp(argv[1], "term")) {
        kill(getpid(), SIGTERM);
        printf("not reached\n");
        return 0;
    }

    /* 1. A handler, by raise. */
    on(SIGUSR1, count, 0);
    raise(SIGUSR1);
    printf("raise: handler ran %d time(s)\n", hits[SIGUSR1]);

    /* 2. siginfo from kill. */
    on_info(SIGUSR2, info, 0);
    kill(getpid(), SIGUSR2);
    printf("kill: handled %d, si_code SI_USER %d, si_pid ours %d\n", hits[SIGUSR2],
           last_code == SI_USER, last_pid_ok);

    /* 3. Blocked, pending, then delivered on unblock. */
    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR1);
    sigpending(&pend);
    printf("blocked: pending %d, handled %d\n", sigismember(&pend, SIGUSR1), hits[SIGUSR1]);
    sigprocmask(SIG_SETMASK, &old, 0);
    printf("unblocked: handled %d\n", hits[SIGUSR1]);

    /* 4. Ignored. */
    signal(SIGTERM, SIG_IGN);
    raise(SIGTERM);
    printf("ignored SIGTERM: still here\n");
    signal(SIGTERM, SIG_DFL);

    /* 5. Faults to handlers, back by siglongjmp: SIGSEGV (with the address), SIGFPE, SIGILL;
     * SIGSEGV on the alternate stack. */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, 0);
    on_info(SIGSEGV, fault, SA_ONSTACK | SA_NODEFER);
    on_info(SIGFPE, fault, SA_NODEFER);
    on_info(SIGILL, fault, SA_NODEFER);
    for (int round = 0; round < 3; round++) {
        if (sigsetjmp(env, 1) == 0) {
            volatile int *bad = (int *)(uintptr_t)0xdead0000;
            *bad = 1;
        }
    }
    printf("SIGSEGV: %d, si_addr %s, SEGV_MAPERR %d, on the alternate stack %d\n",
           hits[SIGSEGV], last_addr == 0xdead0000 ? "right" : "wrong", last_code == SEGV_MAPERR,
           on_alt);
    if (sigsetjmp(env, 1) == 0) {
        volatile int zero = 0;
        volatile int r = 10 / zero;
        (void)r;
    }
    printf("SIGFPE: %d, FPE_INTDIV %d\n", hits[SIGFPE], last_code == FPE_INTDIV);
    if (sigsetjmp(env, 1) == 0) {
        __asm__ volatile("ud2");
    }
    printf("SIGILL: %d, ILL_ILLOPN %d\n", hits[SIGILL], last_code == ILL_ILLOPN);

    /* 6. alarm, then pause until it fires: EINTR. */
    on(SIGALRM, count, 0);
    alarm(1);
    int r = pause();
    printf("pause: %d %s, SIGALRM %d\n", r, strerror(errno), hits[SIGALRM]);

    /* 7. A periodic timer interrupting nanosleep (EINTR, time left), and computation whose
     * floating point must survive handlers that use it too. */
    on(SIGALRM, fpu_mess, 0);
    struct itimerval it = {.it_interval = {0, 20000}, .it_value = {0, 20000}};
    setitimer(ITIMER_REAL, &it, 0);
    struct timespec req = {5, 0}, rem = {0, 0};
    r = nanosleep(&req, &rem);
    printf("nanosleep: %d %s, time left %d\n", r, strerror(errno),
           rem.tv_sec > 0 && rem.tv_sec <= 5);
    double x = 1.0, y = 0.5;
    int before = hits[SIGALRM];
    for (long i = 0; i < 200000000L && hits[SIGALRM] < before + 5; i++) {
        x = x * 0.9999999 + 1e-7;
        y = y * 0.99999991 + 1e-8;
        if (x > 1.5 || y > 1.5) break;
    }
    struct itimerval off = {{0, 0}, {0, 0}}, cur;
    setitimer(ITIMER_REAL, &off, 0);
    getitimer(ITIMER_REAL, &cur);
    printf("timer: at least 5 expiries %d, fp intact %d, disarmed %d\n",
           hits[SIGALRM] >= before + 5, x <= 1.0 + 1e-9 && y <= 1.0, cur.it_value.tv_sec == 0 &&
           cur.it_value.tv_usec == 0);

    /* 8. sigsuspend: wait with SIGALRM unblocked, then it is blocked again. */
    on(SIGALRM, count, 0);
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, &old);
    int a0 = hits[SIGALRM];
    struct itimerval once = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &once, 0);
    sigset_t none;
    sigemptyset(&none);
    r = sigsuspend(&none);
    sigprocmask(SIG_BLOCK, 0, &old);
    printf("sigsuspend: %d %s, handled %d, blocked again %d\n", r, strerror(errno),
           hits[SIGALRM] - a0, sigismember(&old, SIGALRM));
    return 0;
}
