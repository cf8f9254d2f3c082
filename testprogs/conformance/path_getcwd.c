/* getcwd buffer sizes: ERANGE when too small by one, EINVAL for size 0, the raw syscall returns the length with NUL. */
#include "conf.h"
#define WORKDIR "path_getcwd.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
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
