/* Descriptor syscalls with bad pointers: pipe, pipe2, fstat, getdents64, poll, ppoll, select give EFAULT and leak no descriptors. */
#include "conf.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNMAPPED 0xdead0000UL
#define KERNEL 0xffff800000000000UL

int main(void) {
    int first = open("/dev/null", O_RDONLY);
    CHECK(first >= 0);
    CHECK(close(first) == 0);
    unsigned long bad[] = {1UL, UNMAPPED, KERNEL};
    for (int i = 0; i < 3; i++) {
        unsigned long b = bad[i];
        SAY("bad pointer %d", i);
        ERR(syscall(SYS_pipe, b), EFAULT);
        ERR(syscall(SYS_pipe2, b, O_CLOEXEC), EFAULT);
        ERR(syscall(SYS_fstat, 0, b), EFAULT);
        ERR(syscall(SYS_poll, b, 1, 0), EFAULT);
        ERR(syscall(SYS_select, 1, b, 0, 0, 0), EFAULT);
        ERR(syscall(SYS_select, 1, 0, 0, 0, b), EFAULT);
        ERR(syscall(SYS_ppoll, 0, 0, b, 0, 8), EFAULT);
    }
    /* the failed pipe calls closed what they created */
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd == first);
    CHECK(close(fd) == 0);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(d >= 0);
    ERR(syscall(SYS_getdents64, d, UNMAPPED, 4096), EFAULT);
    ERR(syscall(SYS_getdents64, d, KERNEL, 4096), EFAULT);
    CHECK(close(d) == 0);
    ERR(syscall(SYS_pipe2, UNMAPPED, 0x12345), EINVAL); /* flags are checked first */
    CHECK(syscall(SYS_poll, UNMAPPED, 0, 0) == 0); /* no entries: the pointer is not used */
    return DONE();
}
