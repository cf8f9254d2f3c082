/* Path components '.', '..', repeated and trailing slashes; '..' at the root stays at the root. */
#include "conf.h"
#define WORKDIR "path_dots.d"
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
