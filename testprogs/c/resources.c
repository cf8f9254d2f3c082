/* Time, identity and resource calls (sysinfo, times, getrusage, getgroups, getcpu,
 * sched_setaffinity): prints one line per call saying whether its answer is sane, so the
 * output is the same on Linux and on a cluster. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    volatile unsigned long x = 1;
    for (long i = 0; i < 20000000; i++) x = x * 6364136223846793005UL + 1;
    struct sysinfo si;
    int r = sysinfo(&si);
    printf("sysinfo %s\n", r == 0 && si.totalram > 0 && si.mem_unit > 0 && si.freeram <= si.totalram ? "ok" : "bad");
    struct tms t;
    clock_t c = times(&t);
    printf("times %s\n", c != (clock_t)-1 && t.tms_utime >= 0 && t.tms_stime >= 0 ? "ok" : "bad");
    struct rusage ru;
    r = getrusage(RUSAGE_SELF, &ru);
    long us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec;
    printf("getrusage %s\n", r == 0 && us > 0 && ru.ru_utime.tv_usec < 1000000 ? "ok" : "bad");
    printf("getrusage bad who %s\n", getrusage(42, &ru) == -1 ? "EINVAL" : "accepted");
    printf("getgroups %s\n", getgroups(0, 0) >= 0 ? "ok" : "bad");
    unsigned cpu = 99, node = 99;
    r = syscall(SYS_getcpu, &cpu, &node, 0);
    printf("getcpu %s\n", r == 0 && cpu < 4096 && node < 64 ? "ok" : "bad");
    cpu_set_t set;
    CPU_ZERO(&set);
    r = sched_getaffinity(0, sizeof set, &set);
    printf("sched_getaffinity %s\n", r == 0 && CPU_COUNT(&set) > 0 ? "ok" : "bad");
    r = sched_setaffinity(0, sizeof set, &set);
    printf("sched_setaffinity own mask %s\n", r == 0 ? "ok" : "bad");
    return 0;
}
