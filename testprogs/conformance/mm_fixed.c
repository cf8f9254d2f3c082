/* MAP_FIXED replaces part of an existing mapping (zeroed, neighbours kept); MAP_FIXED_NOREPLACE refuses with EEXIST. */
#include "conf.h"
#include <sys/mman.h>
#include <unistd.h>
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int main(void) {
    char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 'o', 4 * 4096);
    char *q = mmap(p + 4096, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == p + 4096);
    CHECK(q[0] == 0 && q[2 * 4096 - 1] == 0);
    CHECK(p[4095] == 'o' && p[3 * 4096] == 'o');
    q[0] = 'n';
    CHECK(p[4096] == 'n');
    /* NOREPLACE over an existing page fails; over a hole it works */
    CHECK(mmap(p, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED &&
          errno == EEXIST);
    /* partly overlapping */
    CHECK(mmap(p + 3 * 4096, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) ==
              MAP_FAILED &&
          errno == EEXIST);
    char *r;
    CHECK(munmap(p + 2 * 4096, 4096) == 0);
    r = mmap(p + 2 * 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(r == p + 2 * 4096);
    CHECK(r[0] == 0);
    CHECK(p[0] == 'o' && p[4096] == 'n' && p[3 * 4096] == 'o');
    /* MAP_FIXED with a different protection: the new pages are read-only, the rest still writable */
    r = mmap(p + 3 * 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == p + 3 * 4096 && r[10] == 0);
    p[0] = 'w';
    CHECK(p[0] == 'w');
    /* an unaligned fixed address is refused; a hint without MAP_FIXED at a used address goes elsewhere */
    CHECK(mmap(p + 1, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED && errno == EINVAL);
    r = mmap(p, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r != MAP_FAILED && r != p);
    CHECK(p[0] == 'w');
    CHECK(munmap(r, 4096) == 0);
    CHECK(munmap(p, 4 * 4096) == 0);
    return DONE();
}
