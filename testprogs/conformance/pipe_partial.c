/* Pipe reads: a read returns what is there (short), the rest stays for later reads, in order. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    char data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (char)('A' + i % 26);
    CHECK(write(p[1], data, 100) == 100);
    char b[200];
    CHECK(read(p[0], b, 30) == 30);
    CHECK(memcmp(b, data, 30) == 0);
    CHECK(read(p[0], b, 1) == 1 && b[0] == data[30]);
    CHECK(read(p[0], b, 29) == 29);
    CHECK(memcmp(b, data + 31, 29) == 0);
    /* a larger buffer gets only what remains */
    CHECK(read(p[0], b, sizeof b) == 40);
    CHECK(memcmp(b, data + 60, 40) == 0);
    /* two writes, one read gets both */
    CHECK(write(p[1], "abc", 3) == 3 && write(p[1], "defg", 4) == 4);
    CHECK(read(p[0], b, 5) == 5 && memcmp(b, "abcde", 5) == 0);
    CHECK(write(p[1], "hij", 3) == 3);
    CHECK(read(p[0], b, sizeof b) == 5 && memcmp(b, "fghij", 5) == 0);
    /* byte-at-a-time reads */
    CHECK(write(p[1], "xyz", 3) == 3);
    int ok = read(p[0], b, 1) == 1 && b[0] == 'x';
    ok &= read(p[0], b + 1, 1) == 1 && b[1] == 'y';
    ok &= read(p[0], b + 2, 1) == 1 && b[2] == 'z';
    CHECK(ok);
    /* empty now: a nonblocking read says so */
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    ERR(read(p[0], b, 1), EAGAIN);
    /* a 4000-byte write read back in 7-byte pieces */
    char big[4000];
    for (int i = 0; i < 4000; i++)
        big[i] = (char)(i * 7 + 3);
    CHECK(write(p[1], big, 4000) == 4000);
    int got = 0, n;
    ok = 1;
    while ((n = read(p[0], b, 7)) > 0) {
        ok &= memcmp(b, big + got, n) == 0;
        got += n;
    }
    int e = errno;
    CHECK(n == -1 && e == EAGAIN);
    CHECK(ok && got == 4000);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    return DONE();
}
