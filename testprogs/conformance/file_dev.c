/* /dev/null and /dev/zero: reads give EOF and zeros, writes are swallowed, seeking is allowed. */
#include "conf.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    int n = open("/dev/null", O_RDWR);
    CHECK(n >= 0);
    char b[4096];
    CHECK(read(n, b, sizeof b) == 0);
    CHECK(write(n, b, sizeof b) == (long)sizeof b);
    CHECK(write(n, b, 0) == 0);
    CHECK(read(n, b, sizeof b) == 0);
    CHECK(lseek(n, 0, SEEK_SET) == 0);
    CHECK(lseek(n, 100, SEEK_SET) == 0);
    CHECK(pwrite(n, "x", 1, 10) == 1);
    CHECK(pread(n, b, 1, 10) == 0);
    struct stat st;
    CHECK(fstat(n, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode));
    int z = open("/dev/zero", O_RDWR);
    CHECK(z >= 0);
    memset(b, 0x5a, sizeof b);
    CHECK(read(z, b, sizeof b) == (long)sizeof b);
    int nz = 0;
    for (unsigned i = 0; i < sizeof b; i++)
        nz += b[i] != 0;
    CHECK(nz == 0);
    memset(b, 0x5a, sizeof b);
    CHECK(read(z, b, 7) == 7 && b[0] == 0 && b[6] == 0 && b[7] == 0x5a);
    CHECK(write(z, "abc", 3) == 3);
    CHECK(pread(z, b, 5, 1000) == 5 && b[0] == 0 && b[4] == 0);
    CHECK(lseek(z, 0, SEEK_SET) == 0);
    static char big[1 << 20];
    memset(big, 1, sizeof big);
    CHECK(read(z, big, sizeof big) == (long)sizeof big);
    CHECK(big[0] == 0 && big[sizeof big - 1] == 0);
    int u = open("/dev/urandom", O_RDONLY);
    CHECK(u >= 0);
    CHECK(read(u, b, 64) == 64);
    CHECK(close(n) == 0 && close(z) == 0 && close(u) == 0);
    return DONE();
}
