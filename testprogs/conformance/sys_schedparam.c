/* Scheduling knobs: policies and priorities read back, nice values, the RR interval. */
#include "conf.h"
#include <sched.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    CHECK(sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_FIFO) == 1);
    CHECK(sched_get_priority_max(SCHED_RR) == 99 && sched_get_priority_min(SCHED_RR) == 1);
    CHECK(sched_get_priority_max(SCHED_OTHER) == 0 && sched_get_priority_min(SCHED_BATCH) == 0);
    ERR(sched_get_priority_max(42), EINVAL);
    CHECK(syscall(SYS_sched_getscheduler, 0) == SCHED_OTHER);
    struct sched_param sp = {0};
    CHECK(syscall(SYS_sched_getparam, 0, &sp) == 0 && sp.sched_priority == 0);
    ERR(syscall(SYS_sched_getscheduler, -1), EINVAL);
    ERR(syscall(SYS_sched_getscheduler, 999999), ESRCH);
    sp.sched_priority = 5;
    ERR(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp), EINVAL);
    sp.sched_priority = 0;
    CHECK(syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &sp) == 0);
    CHECK(syscall(SYS_sched_getscheduler, 0) == SCHED_BATCH);
    CHECK(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp) == 0);
    ERR(syscall(SYS_sched_setscheduler, 0, 42, &sp), EINVAL);
    ERR(syscall(SYS_sched_setparam, 0, (void *)8), EFAULT);
    struct timespec ts;
    CHECK(sched_rr_get_interval(0, &ts) == 0 && ts.tv_sec == 0);
    /* Nice values: the raw syscall returns 20 - nice. */
    errno = 0;
    CHECK(getpriority(PRIO_PROCESS, 0) == 0 && errno == 0);
    CHECK(syscall(SYS_getpriority, PRIO_PROCESS, 0) == 20);
    CHECK(setpriority(PRIO_PROCESS, 0, 7) == 0 && getpriority(PRIO_PROCESS, 0) == 7);
    CHECK(setpriority(PRIO_PROCESS, 0, 100) == 0 && getpriority(PRIO_PROCESS, 0) == 19);
    CHECK(nice(0) == 19);
    ERR(setpriority(42, 0, 0), EINVAL);
    ERR(setpriority(PRIO_PROCESS, 999999, 0), ESRCH);
    CHECK(setpriority(PRIO_PROCESS, getpid(), -3) == 0 && getpriority(PRIO_PROCESS, 0) == -3);
    CHECK(personality(0xffffffff) == 0);
    return DONE();
}
