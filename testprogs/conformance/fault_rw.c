/* read/write/readv/writev with buffers outside the address space give EFAULT (raw syscalls); zero-length transfers do not touch the buffer. */
#include "conf.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define LOW ((void *)1)
#define UNMAPPED ((void *)0xdead0000UL)
#define KERNEL ((void *)0xffff800000000000UL)

int main(void) {
    int z = open("/dev/zero", O_RDONLY);
    CHECK(z >= 0);
    ERR(syscall(SYS_read, z, LOW, 10), EFAULT);
    ERR(syscall(SYS_read, z, UNMAPPED, 10), EFAULT);
    ERR(syscall(SYS_read, z, KERNEL, 10), EFAULT);
    ERR(syscall(SYS_read, z, 0, 1), EFAULT);
    CHECK(syscall(SYS_read, z, UNMAPPED, 0) == 0);
    ERR(syscall(SYS_pread64, z, UNMAPPED, 10, 0), EFAULT);
    int p[2];
    CHECK(pipe(p) == 0);
    ERR(syscall(SYS_write, p[1], LOW, 10), EFAULT);
    ERR(syscall(SYS_write, p[1], UNMAPPED, 10), EFAULT);
    ERR(syscall(SYS_write, p[1], KERNEL, 10), EFAULT);
    CHECK(syscall(SYS_write, p[1], UNMAPPED, 0) == 0);
    /* nothing was written by the failed calls */
    CHECK(write(p[1], "ok", 2) == 2);
    char b[8] = "";
    CHECK(read(p[0], b, sizeof b) == 2 && memcmp(b, "ok", 2) == 0);
    /* reading pipe data into a bad buffer fails; the data stays */
    CHECK(write(p[1], "abc", 3) == 3);
    ERR(syscall(SYS_read, p[0], UNMAPPED, 3), EFAULT);
    CHECK(read(p[0], b, sizeof b) == 3 && memcmp(b, "abc", 3) == 0);
    /* vectors: a bad iovec array, and a good array pointing to a bad buffer */
    ERR(syscall(SYS_readv, z, UNMAPPED, 1), EFAULT);
    ERR(syscall(SYS_writev, p[1], KERNEL, 1), EFAULT);
    struct iovec iov = {UNMAPPED, 5};
    ERR(syscall(SYS_readv, z, &iov, 1), EFAULT);
    ERR(syscall(SYS_writev, p[1], &iov, 1), EFAULT);
    iov.iov_base = KERNEL;
    ERR(syscall(SYS_readv, z, &iov, 1), EFAULT);
    /* /dev/null discards without reading the buffer */
    int n = open("/dev/null", O_WRONLY);
    CHECK(syscall(SYS_write, n, UNMAPPED, 10) == 10);
    CHECK(close(n) == 0 && close(z) == 0 && close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
