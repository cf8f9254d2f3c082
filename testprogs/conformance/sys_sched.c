/* sched_getaffinity (at least one CPU), sched_yield, getcpu within the affinity set, scheduler policy and priority ranges. */
#include "conf.h"
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    CHECK(CPU_COUNT(&set) >= 1);
    cpu_set_t set2;
    CHECK(sched_getaffinity(getpid(), sizeof set2, &set2) == 0 && CPU_EQUAL(&set, &set2));
    long n = syscall(SYS_sched_getaffinity, 0, sizeof set2, &set2);
    CHECK(n > 0 && n <= (long)sizeof set2 && n % 8 == 0);
    ERR(syscall(SYS_sched_getaffinity, 0, 7, &set2), EINVAL);
    ERR(syscall(SYS_sched_getaffinity, 999999, sizeof set2, &set2), ESRCH);
    CHECK(sched_setaffinity(0, sizeof set, &set) == 0);
    CHECK(sched_yield() == 0);
    CHECK(syscall(SYS_sched_yield) == 0);
    unsigned cpu = 12345, node = 12345;
    CHECK(syscall(SYS_getcpu, &cpu, &node, NULL) == 0);
    CHECK(cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set));
    CHECK(node < 1024);
    CHECK(sched_getcpu() >= 0);
    /* raw syscalls: musl's sched_getscheduler() and sched_getparam() always fail with ENOSYS */
    CHECK(syscall(SYS_sched_getscheduler, 0) == SCHED_OTHER);
    struct sched_param sp = {.sched_priority = 5};
    CHECK(syscall(SYS_sched_getparam, 0, &sp) == 0 && sp.sched_priority == 0);
    ERR(syscall(SYS_sched_getparam, 999999, &sp), ESRCH);
    CHECK(sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_FIFO) == 1);
    CHECK(sched_get_priority_max(SCHED_RR) == 99 && sched_get_priority_min(SCHED_RR) == 1);
    CHECK(sched_get_priority_max(SCHED_OTHER) == 0 && sched_get_priority_min(SCHED_OTHER) == 0);
    ERR(sched_get_priority_max(12345), EINVAL);
    ERR(syscall(SYS_sched_getscheduler, 999999), ESRCH);
    ERR(syscall(SYS_sched_getscheduler, -1), EINVAL);
    struct timespec ts;
    CHECK(sched_rr_get_interval(0, &ts) == 0 && ts.tv_sec >= 0);
    return DONE();
}
