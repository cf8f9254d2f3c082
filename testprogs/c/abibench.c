/* `lego bench abi`'s program: the cost of the Linux ABI's basic operations, each timed by the
 * program itself (the TSC, calibrated against CLOCK_MONOTONIC, so that timing a call adds no
 * syscall of its own).
 *   abibench syscall N            N getpid calls: "syscall P50 P99 MEAN" (ns)
 *   abibench forkexec N PROGRAM   N fork + execve(PROGRAM) + waitpid: "forkexec P50 P99 MEAN"
 *   abibench pipe MIB             MIB MiB through a pipe to a child: "pipe MB_PER_S"
 *   abibench child                (the program execve runs: exits at once) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static double ns_per_tick;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void calibrate(void) {
    double t0 = now_ns();
    uint64_t r0 = __rdtsc();
    struct timespec d = {0, 50 * 1000 * 1000};
    nanosleep(&d, NULL);
    double t1 = now_ns();
    uint64_t r1 = __rdtsc();
    ns_per_tick = (t1 - t0) / (double)(r1 - r0);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *v, long n) {
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += v[i];
    qsort(v, n, sizeof *v, cmp);
    printf("%s %.0f %.0f %.0f\n", what, v[n / 2], v[(n * 99) / 100], sum / n);
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    if (argv[1][0] == 'c') /* child */
        return 0;
    calibrate();
    if (argv[1][0] == 's' && argc > 2) {
        long n = atol(argv[2]);
        double *v = malloc(n * sizeof *v);
        for (long i = 0; i < n; i++) {
            uint64_t a = __rdtsc();
            syscall(SYS_getpid);
            v[i] = (__rdtsc() - a) * ns_per_tick;
        }
        report("syscall", v, n);
    } else if (argv[1][0] == 'f' && argc > 3) {
        long n = atol(argv[2]);
        double *v = malloc(n * sizeof *v);
        for (long i = 0; i < n; i++) {
            uint64_t a = __rdtsc();
            pid_t c = fork();
            if (c == 0) {
                char *args[] = {argv[3], "child", NULL};
                execv(argv[3], args);
                _exit(127);
            }
            int st;
            if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "abibench: fork+exec of %s failed\n", argv[3]);
                return 1;
            }
            v[i] = (__rdtsc() - a) * ns_per_tick;
        }
        report("forkexec", v, n);
    } else if (argv[1][0] == 'p' && argc > 2) {
        long mib = atol(argv[2]);
        int p[2];
        if (pipe(p) != 0)
            return 1;
        static char buf[65536];
        double t0 = now_ns();
        pid_t c = fork();
        if (c == 0) {
            close(p[0]);
            for (long left = mib << 20; left > 0;) {
                ssize_t w = write(p[1], buf, left < (long)sizeof buf ? left : (long)sizeof buf);
                if (w <= 0)
                    _exit(1);
                left -= w;
            }
            _exit(0);
        }
        close(p[1]);
        long got = 0;
        for (ssize_t r; (r = read(p[0], buf, sizeof buf)) > 0;)
            got += r;
        int st;
        waitpid(c, &st, 0);
        double secs = (now_ns() - t0) / 1e9;
        if (got != mib << 20)
            return 1;
        printf("pipe %.1f\n", (double)got / 1e6 / secs);
    } else {
        return 2;
    }
    return 0;
}
