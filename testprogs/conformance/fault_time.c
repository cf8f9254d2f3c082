/* Time syscalls with result or argument pointers outside the address space give EFAULT (raw syscalls, so the vDSO is not used). */
#include "conf.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define UNMAPPED 0xdead0000UL
#define KERNEL 0xffff800000000000UL

int main(void) {
    unsigned long bad[] = {1UL, UNMAPPED, KERNEL};
    for (int i = 0; i < 3; i++) {
        unsigned long b = bad[i];
        SAY("bad pointer %d", i);
        ERR(syscall(SYS_clock_gettime, CLOCK_REALTIME, b), EFAULT);
        ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, b), EFAULT);
        ERR(syscall(SYS_clock_getres, CLOCK_MONOTONIC, b), EFAULT);
        ERR(syscall(SYS_gettimeofday, b, 0), EFAULT);
        ERR(syscall(SYS_time, b), EFAULT);
        ERR(syscall(SYS_nanosleep, b, 0), EFAULT);
        ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, b, 0), EFAULT);
        ERR(syscall(SYS_getitimer, 0, b), EFAULT);
        ERR(syscall(SYS_setitimer, 0, b, 0), EFAULT);
        ERR(syscall(SYS_times, b), EFAULT);
        ERR(syscall(SYS_getrusage, 0, b), EFAULT);
    }
    ERR(syscall(SYS_clock_gettime, CLOCK_REALTIME, 0), EFAULT);
    CHECK(syscall(SYS_gettimeofday, 0, 0) == 0);
    CHECK(syscall(SYS_time, 0) > 0);
    CHECK(syscall(SYS_clock_getres, CLOCK_MONOTONIC, 0) == 0);
    /* a good new value with a bad old-value pointer */
    struct itimerval it = {{0, 0}, {0, 0}};
    ERR(syscall(SYS_setitimer, 0, &it, UNMAPPED), EFAULT);
    /* the clock id is checked before the pointer */
    ERR(syscall(SYS_clock_gettime, 100, UNMAPPED), EINVAL);
    return DONE();
}
