/* A buffer whose second page is inaccessible: /dev/zero and pipe reads stop at the boundary and report the bytes copied. */
#include "conf.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    char *m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    CHECK(mprotect(m + 4096, 4096, PROT_NONE) == 0);
    memset(m, 'x', 4096);
    int z = open("/dev/zero", O_RDONLY);
    CHECK(syscall(SYS_read, z, m, 8192) == 4096);
    CHECK(m[0] == 0 && m[4095] == 0);
    memset(m, 'x', 4096);
    CHECK(syscall(SYS_read, z, m + 4000, 200) == 96);
    CHECK(m[3999] == 'x' && m[4000] == 0 && m[4095] == 0);
    ERR(syscall(SYS_read, z, m + 4096, 10), EFAULT);
    /* pipe: 8 KiB queued, reading into 4 KiB of good memory */
    int p[2];
    CHECK(pipe(p) == 0);
    static char data[8192];
    for (int i = 0; i < 8192; i++) data[i] = (char)('a' + i % 26);
    CHECK(write(p[1], data, 8192) == 8192);
    CHECK(syscall(SYS_read, p[0], m, 8192) == 4096);
    CHECK(memcmp(m, data, 4096) == 0);
    static char rest[8192];
    CHECK(read(p[0], rest, sizeof rest) == 4096);
    CHECK(memcmp(rest, data + 4096, 4096) == 0);
    /* write from a buffer that runs into the inaccessible page: Linux's pipe refuses the whole write */
    memset(m, 'y', 4096);
    ERR(syscall(SYS_write, p[1], m + 4000, 200), EFAULT);
    CHECK(write(p[1], "!", 1) == 1);
    CHECK(read(p[0], rest, sizeof rest) == 1 && rest[0] == '!');
    CHECK(close(p[0]) == 0 && close(p[1]) == 0 && close(z) == 0);
    CHECK(munmap(m, 2 * 4096) == 0);
    return DONE();
}
