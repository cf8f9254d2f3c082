/* Path components '.', '..', repeated and trailing slashes; '..' at the root stays at the root. */
#include "conf.h"
#define WORKDIR "path_dots.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

static long ino(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_ino : -1;
}

int main(void) {
    enter();
    CHECK(mkdir("a", 0755) == 0 && mkdir("a/b", 0755) == 0);
    int fd = open("a/b/f", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    long f = ino("a/b/f"), a = ino("a"), b = ino("a/b"), top = ino(".");
    CHECK(f != -1 && a != -1 && b != -1 && top != -1);
    CHECK(ino("./a/b/f") == f);
    CHECK(ino("a/./b/./f") == f);
    CHECK(ino("a/b/../b/f") == f);
    CHECK(ino("a/../a/b/../../a/b/f") == f);
    CHECK(ino("././././a/b/f") == f);
    CHECK(ino("a//b///f") == f);
    CHECK(ino("a/b/") == b);
    CHECK(ino("a/b/.") == b);
    CHECK(ino("a/b//") == b);
    CHECK(ino("a/b/..") == a);
    CHECK(ino("a/b/../..") == top);
    CHECK(ino("a/..") == top);
    CHECK(ino("..") != top);
    /* '..' is not resolved lexically: the first part must exist */
    struct stat st;
    ERR(stat("missing/../a", &st), ENOENT);
    ERR(stat("a/b/f/..", &st), ENOTDIR);
    ERR(stat("a/b/f/.", &st), ENOTDIR);
    /* the root is its own parent */
    long root = ino("/");
    CHECK(root != -1);
    CHECK(ino("/..") == root);
    CHECK(ino("/../../..") == root);
    CHECK(ino("//") == root);
    CHECK(ino("/./.") == root);
    CHECK(ino("/dev/../dev/./null") == ino("/dev/null"));
    /* mkdir and open through dots */
    CHECK(mkdir("a/b/../c", 0755) == 0);
    CHECK(ino("a/c") != -1);
    fd = open("a/c/./../c/g", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(ino("a/c/g") != -1);
    leave();
    return DONE();
}
