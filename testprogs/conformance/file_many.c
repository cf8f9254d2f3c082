/* 200 small files: created, listed (count only), read back with their own contents, removed. */
#include "conf.h"
#define WORKDIR "file_many.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

#define N 200

int main(void) {
    enter();
    char name[32], want[64], got[64];
    int ok = 1;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "file%03d", i);
        int len = snprintf(want, sizeof want, "contents of file %d%.*s", i, i % 20, "xxxxxxxxxxxxxxxxxxxx");
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        ok &= fd >= 0 && write(fd, want, len) == len && close(fd) == 0;
    }
    CHECK(ok);
    DIR *d = opendir(".");
    CHECK(d != 0);
    int count = 0, others = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "file", 4) && strlen(e->d_name) == 7)
            count++;
        else if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            others++;
    CHECK(closedir(d) == 0);
    SAY("listed %d files, %d others", count, others);
    CHECK(count == N && others == 0);
    long total = 0;
    for (int i = N - 1; i >= 0; i--) {
        snprintf(name, sizeof name, "file%03d", i);
        int len = snprintf(want, sizeof want, "contents of file %d%.*s", i, i % 20, "xxxxxxxxxxxxxxxxxxxx");
        struct stat st;
        ok &= stat(name, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == len;
        int fd = open(name, O_RDONLY);
        int n = read(fd, got, sizeof got);
        ok &= n == len && memcmp(got, want, len) == 0 && close(fd) == 0;
        total += n;
    }
    CHECK(ok);
    SAY("total bytes %ld", total);
    /* open all at once */
    int fds[N];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "file%03d", i);
        fds[i] = open(name, O_RDONLY);
        ok &= fds[i] >= 0;
    }
    CHECK(ok);
    for (int i = 0; i < N; i++)
        ok &= close(fds[i]) == 0;
    CHECK(ok);
    for (int i = 0; i < N; i += 2) {
        snprintf(name, sizeof name, "file%03d", i);
        ok &= unlink(name) == 0;
    }
    CHECK(ok);
    ERR(access("file000", F_OK), ENOENT);
    CHECK(access("file001", F_OK) == 0);
    for (int i = 1; i < N; i += 2) {
        snprintf(name, sizeof name, "file%03d", i);
        ok &= unlink(name) == 0;
    }
    CHECK(ok);
    leave();
    return DONE();
}
