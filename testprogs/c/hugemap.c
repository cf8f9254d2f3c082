/* Asks for far more memory than a cluster has: a 1 TiB and a 4 TiB private writable mapping,
 * and a 1 TiB brk; prints what each got, then checks that an ordinary mapping still works.
 * (Natively Linux's overcommit heuristic may grant the mappings: this is not a differential
 * test. The cluster refuses them: its memory is the mComponents'.) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void try_map(const char *what, size_t len) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        printf("mmap %s: %s\n", what, errno == ENOMEM ? "ENOMEM" : strerror(errno));
    else
        printf("mmap %s: granted\n", what);
}

int main(void) {
    size_t tib = (size_t)1 << 40;
    try_map("1 TiB", tib);
    try_map("4 TiB", 4 * tib);
    uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t got = (uintptr_t)syscall(SYS_brk, cur + tib);
    printf("brk +1 TiB: %s\n", got == cur ? "refused" : "granted");
    char *q = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        return 1;
    memset(q, 7, 1 << 20);
    printf("1 MiB after: %s\n", q[12345] == 7 ? "ok" : "bad");
    return 0;
}
