/* getdents64 directly: records fit the buffer, a tiny buffer gives EINVAL, the end gives 0, ENOTDIR on a file. */
#include "conf.h"
#define WORKDIR "dir_getdents.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

struct d64 {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    enter();
    int ok = 1;
    for (int i = 0; i < 20; i++) {
        char n[32];
        snprintf(n, sizeof n, "entry-%02d-%.*s", i, i, "abcdefghijklmnopqrstuvwxyz");
        int fd = open(n, O_WRONLY | O_CREAT, 0644);
        ok &= fd >= 0 && close(fd) == 0;
    }
    CHECK(mkdir("subdir", 0755) == 0);
    CHECK(ok);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    char tiny[8];
    ERR(syscall(SYS_getdents64, dfd, tiny, sizeof tiny), EINVAL);
    /* a small buffer: several calls, each record well formed */
    static char buf[128] __attribute__((aligned(8)));
    char *names[64];
    int n = 0, calls = 0, good = 1;
    long r;
    while ((r = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
        calls++;
        for (long pos = 0; pos < r;) {
            struct d64 *e = (struct d64 *)(buf + pos);
            good &= e->reclen >= offsetof(struct d64, name) + strlen(e->name) + 1 && e->reclen % 8 == 0 && pos + e->reclen <= r;
            if (e->type != DT_UNKNOWN)
                good &= e->type == (!strcmp(e->name, ".") || !strcmp(e->name, "..") || !strcmp(e->name, "subdir") ? DT_DIR : DT_REG);
            if (n < 64)
                names[n++] = strdup(e->name);
            pos += e->reclen;
        }
    }
    CHECK(r == 0);
    CHECK(good);
    CHECK(calls > 1);
    CHECK(n == 23);
    CHECK(syscall(SYS_getdents64, dfd, buf, sizeof buf) == 0);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) {
        SAY("%s", names[i]);
        free(names[i]);
    }
    /* rewinding with lseek reads it all again */
    CHECK(lseek(dfd, 0, SEEK_SET) == 0);
    static char big[8192] __attribute__((aligned(8)));
    int n2 = 0;
    while ((r = syscall(SYS_getdents64, dfd, big, sizeof big)) > 0)
        for (long pos = 0; pos < r; pos += ((struct d64 *)(big + pos))->reclen)
            n2++;
    CHECK(n2 == 23);
    int f = open("entry-00-", O_RDONLY);
    CHECK(f >= 0);
    ERR(syscall(SYS_getdents64, f, big, sizeof big), ENOTDIR);
    ERR(syscall(SYS_getdents64, -1, big, sizeof big), EBADF);
    CHECK(close(f) == 0 && close(dfd) == 0);
    leave();
    return DONE();
}
