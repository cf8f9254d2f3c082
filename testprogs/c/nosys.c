/* Calls a syscall the monitors do not implement (io_uring_setup) and prints what it got. */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    long r = syscall(425, 1, 0);
    printf("syscall 425 returned %ld errno %d (%s)\n", r, errno, strerror(errno));
    return r == -1 && errno == ENOSYS ? 0 : 1;
}
