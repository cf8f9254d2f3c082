/* Relative paths resolve against the cwd, including after the cwd's directory is renamed or removed. */
#include "conf.h"
#define WORKDIR "path_relative.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <limits.h>

static int has(const char *p, const char *want) {
    char b[32] = {0};
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return 0;
    int n = read(fd, b, sizeof b - 1);
    close(fd);
    return n == (int)strlen(want) && !memcmp(b, want, n);
}

int main(void) {
    enter();
    CHECK(mkdir("sub", 0755) == 0);
    int fd = open("sub/f", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && write(fd, "in sub", 6) == 6 && close(fd) == 0);
    fd = open("top", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && write(fd, "at top", 6) == 6 && close(fd) == 0);
    CHECK(has("sub/f", "in sub"));
    CHECK(has("./sub/f", "in sub"));
    ERR(open("f", O_RDONLY), ENOENT);
    CHECK(chdir("sub") == 0);
    CHECK(has("f", "in sub"));
    CHECK(has("../top", "at top"));
    CHECK(has("../sub/f", "in sub"));
    ERR(open("top", O_RDONLY), ENOENT);
    fd = openat(AT_FDCWD, "g", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && write(fd, "new", 3) == 3 && close(fd) == 0);
    CHECK(has("../sub/g", "new"));
    /* the cwd is the directory, not its name: rename it while inside */
    CHECK(rename("../sub", "../moved") == 0);
    CHECK(has("f", "in sub"));
    CHECK(has("../moved/g", "new"));
    char b[PATH_MAX];
    CHECK(getcwd(b, sizeof b) != 0);
    char *last = strrchr(b, '/');
    CHECK(last && !strcmp(last, "/moved"));
    /* remove it while inside: the cwd is gone, creating fails */
    CHECK(unlink("f") == 0 && unlink("g") == 0);
    CHECK(rmdir("../moved") == 0);
    ERR(open("h", O_WRONLY | O_CREAT, 0644), ENOENT);
    struct stat st;
    CHECK(stat(".", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(getcwd(b, sizeof b) == 0 && errno == ENOENT);
    CHECK(chdir("..") == 0);
    CHECK(has("top", "at top"));
    CHECK(getcwd(b, sizeof b) != 0);
    last = strrchr(b, '/');
    CHECK(last && !strcmp(last, "/" WORKDIR));
    leave();
    return DONE();
}
