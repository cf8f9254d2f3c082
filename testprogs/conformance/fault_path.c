/* Path and result pointers outside the address space: open/stat/access/mkdir/unlink/chdir/readlink/execve/getcwd give EFAULT (raw syscalls). */
#include "conf.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOW 1UL
#define UNMAPPED 0xdead0000UL
#define KERNEL 0xffff800000000000UL

int main(void) {
    struct stat st;
    unsigned long bad[] = {LOW, UNMAPPED, KERNEL};
    for (int i = 0; i < 3; i++) {
        unsigned long b = bad[i];
        SAY("bad pointer %d", i);
        ERR(syscall(SYS_open, b, O_RDONLY), EFAULT);
        ERR(syscall(SYS_openat, -100, b, 0), EFAULT); /* AT_FDCWD */
        ERR(syscall(SYS_stat, b, &st), EFAULT);
        ERR(syscall(SYS_lstat, b, &st), EFAULT);
        ERR(syscall(SYS_access, b, 0), EFAULT);
        ERR(syscall(SYS_mkdir, b, 0755), EFAULT);
        ERR(syscall(SYS_unlink, b), EFAULT);
        ERR(syscall(SYS_chdir, b), EFAULT);
        ERR(syscall(SYS_readlink, b, &st, 10), EFAULT);
        ERR(syscall(SYS_execve, b, 0, 0), EFAULT);
        ERR(syscall(SYS_stat, ".", b), EFAULT);
        ERR(syscall(SYS_fstat, 1, b), EFAULT);
        ERR(syscall(SYS_getcwd, b, 4096), EFAULT);
    }
    ERR(syscall(SYS_open, 0, O_RDONLY), EFAULT);
    ERR(syscall(SYS_stat, 0, &st), EFAULT);
    /* a good path with a bad result buffer */
    CHECK(mkdir("fault_path.d", 0755) == 0);
    CHECK(symlink("target", "fault_path.d/link") == 0);
    ERR(syscall(SYS_readlink, "fault_path.d/link", UNMAPPED, 10), EFAULT);
    char buf[16];
    CHECK(readlink("fault_path.d/link", buf, sizeof buf) == 6);
    ERR(syscall(SYS_rename, "fault_path.d/link", UNMAPPED), EFAULT);
    ERR(syscall(SYS_symlink, UNMAPPED, "fault_path.d/l2"), EFAULT);
    /* execve with a good path and a bad argv: the process survives */
    ERR(syscall(SYS_execve, "/proc/self/exe", UNMAPPED, 0), EFAULT);
    CHECK(unlink("fault_path.d/link") == 0);
    CHECK(rmdir("fault_path.d") == 0);
    return DONE();
}
