/* getrandom: sizes (0, small, 1 MiB), GRND_NONBLOCK/GRND_RANDOM/GRND_INSECURE, bytes vary, unknown flags EINVAL. */
#include "conf.h"
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef GRND_INSECURE
#define GRND_INSECURE 4
#endif

static unsigned char big[1 << 20];

int main(void) {
    unsigned char a[32], b[32];
    CHECK(getrandom(a, sizeof a, 0) == 32);
    CHECK(getrandom(b, sizeof b, 0) == 32);
    CHECK(memcmp(a, b, 32) != 0);
    CHECK(getrandom(a, 0, 0) == 0);
    CHECK(getrandom(a, 1, GRND_NONBLOCK) == 1);
    CHECK(getrandom(a, 32, GRND_RANDOM | GRND_NONBLOCK) == 32);
    CHECK(syscall(SYS_getrandom, a, 32, GRND_INSECURE) == 32);
    CHECK(syscall(SYS_getrandom, a, 256, 0) == 256);
    CHECK(syscall(SYS_getrandom, big, sizeof big, 0) == (long)sizeof big);
    int seen[256] = {0}, k = 0;
    for (size_t i = 0; i < sizeof big; i++)
        if (!seen[big[i]]++) k++;
    CHECK(k == 256);
    ERR(syscall(SYS_getrandom, a, 32, 0x40), EINVAL);
    ERR(syscall(SYS_getrandom, a, 32, 6), EINVAL); /* GRND_INSECURE | GRND_RANDOM */
    ERR(syscall(SYS_getrandom, a, 32, -1), EINVAL);
    return DONE();
}
