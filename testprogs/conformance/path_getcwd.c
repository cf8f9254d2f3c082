/* getcwd buffer sizes: ERANGE when too small by one, EINVAL for size 0, the raw syscall returns the length with NUL. */
#include "conf.h"
#define WORKDIR "path_getcwd.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes a tree (also one left behind by an earlier failed run); 0 when it is gone. */
static int rmtree(const char *p) {
    struct stat st;
    if (lstat(p, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(p);
    for (int pass = 0; pass < 4; pass++) {
        DIR *d = opendir(p);
        if (!d)
            break;
        struct dirent *e;
        char b[1024];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                snprintf(b, sizeof b, "%s/%s", p, e->d_name) < (int)sizeof b)
                rmtree(b);
        closedir(d);
        if (rmdir(p) == 0)
            return 0;
    }
    return -1;
}

/* Works inside WORKDIR, made fresh in the current directory. */
static void enter(void) {
    rmtree(WORKDIR);
    CHECK(mkdir(WORKDIR, 0755) == 0);
    CHECK(chdir(WORKDIR) == 0);
}

static void leave(void) {
    CHECK(chdir("..") == 0);
    CHECK(rmtree(WORKDIR) == 0);
}
#include <limits.h>
#include <sys/syscall.h>

int main(void) {
    enter();
    char full[PATH_MAX];
    CHECK(getcwd(full, sizeof full) == full);
    size_t len = strlen(full);
    CHECK(len > 1 && full[0] == '/');
    char *b = malloc(len + 1);
    CHECK(getcwd(b, len + 1) == b && !strcmp(b, full));
    CHECK(getcwd(b, len) == 0 && errno == ERANGE);
    CHECK(getcwd(b, 1) == 0 && errno == ERANGE);
    CHECK(getcwd(b, 0) == 0 && errno == EINVAL);
    CHECK(syscall(SYS_getcwd, b, len + 1) == (long)len + 1);
    CHECK(!strcmp(b, full));
    ERR(syscall(SYS_getcwd, b, len), ERANGE);
    ERR(syscall(SYS_getcwd, b, 0), ERANGE);
    free(b);
    /* one level deeper: two more bytes than the name */
    CHECK(mkdir("x", 0755) == 0 && chdir("x") == 0);
    char deeper[PATH_MAX];
    CHECK(getcwd(deeper, sizeof deeper) == deeper);
    CHECK(strlen(deeper) == len + 2);
    CHECK(!strncmp(deeper, full, len) && !strcmp(deeper + len, "/x"));
    CHECK(syscall(SYS_getcwd, deeper, sizeof deeper) == (long)len + 3);
    CHECK(chdir("/") == 0);
    char root[4];
    CHECK(getcwd(root, 2) == root && !strcmp(root, "/"));
    CHECK(getcwd(root, 1) == 0 && errno == ERANGE);
    CHECK(syscall(SYS_getcwd, root, sizeof root) == 2);
    CHECK(chdir(full) == 0);
    CHECK(rmdir("x") == 0);
    leave();
    return DONE();
}
