/* uname, sysinfo, getrlimit, prlimit, sched_getaffinity, getcpu, getrandom, getgroups with bad pointers give EFAULT (raw syscalls). */
#include "conf.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNMAPPED 0xdead0000UL
#define KERNEL 0xffff800000000000UL

int main(void) {
    unsigned long bad[] = {1UL, UNMAPPED, KERNEL};
    for (int i = 0; i < 3; i++) {
        unsigned long b = bad[i];
        SAY("bad pointer %d", i);
        ERR(syscall(SYS_uname, b), EFAULT);
        ERR(syscall(SYS_sysinfo, b), EFAULT);
        ERR(syscall(SYS_getrlimit, 7, b), EFAULT);
        ERR(syscall(SYS_setrlimit, 7, b), EFAULT);
        ERR(syscall(SYS_prlimit64, 0, 7, b, 0), EFAULT);
        ERR(syscall(SYS_prlimit64, 0, 7, 0, b), EFAULT);
        ERR(syscall(SYS_sched_getaffinity, 0, 128, b), EFAULT);
        ERR(syscall(SYS_getcpu, b, 0, 0), EFAULT);
        ERR(syscall(SYS_getrandom, b, 16, 0), EFAULT);
        ERR(syscall(SYS_getresuid, b, b, b), EFAULT);
        ERR(syscall(SYS_arch_prctl, 0x1003, b), EFAULT);
    }
    ERR(syscall(SYS_uname, 0), EFAULT);
    ERR(syscall(SYS_sysinfo, 0), EFAULT);
    CHECK(syscall(SYS_getrandom, UNMAPPED, 0, 0) == 0);
    CHECK(syscall(SYS_getcpu, 0, 0, 0) == 0);
    int n = (int)syscall(SYS_getgroups, 0, 0);
    CHECK(n >= 0);
    CHECK(n == 0 || (syscall(SYS_getgroups, n, UNMAPPED) == -1 && errno == EFAULT));
    struct rlimit r;
    CHECK(syscall(SYS_getrlimit, 7, &r) == 0);
    return DONE();
}
