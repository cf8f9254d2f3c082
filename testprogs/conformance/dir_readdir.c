/* opendir/readdir: every entry is seen once, including . and .. (names printed sorted), d_type when known. */
#include "conf.h"
#define WORKDIR "dir_readdir.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path) {
    DIR *d = opendir(path);
    CHECK(d != 0);
    if (!d)
        return;
    char *names[64];
    int n = 0, types = 1;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        names[n++] = strdup(e->d_name);
        if (e->d_type != DT_UNKNOWN) {
            int dir = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strncmp(e->d_name, "sub", 3);
            types &= e->d_type == (dir ? DT_DIR : DT_REG);
        }
    }
    CHECK(closedir(d) == 0);
    CHECK(types);
    qsort(names, n, sizeof *names, cmp);
    SAY("%s: %d entries", path, n);
    for (int i = 0; i < n; i++) {
        SAY("  %s", names[i]);
        free(names[i]);
    }
}

int main(void) {
    enter();
    list(".");
    const char *files[] = {"zeta", "alpha", "mid", "a.b", ".hidden", "UPPER", "x-y_z", "123"};
    int ok = 1;
    for (unsigned i = 0; i < sizeof files / sizeof *files; i++) {
        int fd = open(files[i], O_WRONLY | O_CREAT, 0644);
        ok &= fd >= 0 && close(fd) == 0;
    }
    CHECK(ok);
    CHECK(mkdir("sub1", 0755) == 0 && mkdir("sub2", 0755) == 0);
    int fd = open("sub1/inner", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    list(".");
    list("sub1");
    list("sub2");
    CHECK(unlink("mid") == 0 && unlink(".hidden") == 0);
    list(".");
    /* the same directory through a relative path with .. */
    list("sub1/..");
    CHECK(opendir("missing") == 0 && errno == ENOENT);
    CHECK(opendir("zeta") == 0 && errno == ENOTDIR);
    leave();
    return DONE();
}
