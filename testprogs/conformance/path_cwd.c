/* getcwd/chdir: the cwd follows relative and absolute chdirs, '/' works, getcwd(NULL, 0) allocates. */
#include "conf.h"
#define WORKDIR "path_cwd.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <limits.h>

static char base[PATH_MAX];

/* does getcwd() equal base + suffix? */
static int cwd_is(const char *suffix) {
    char want[PATH_MAX + 64], got[PATH_MAX];
    snprintf(want, sizeof want, "%s%s", strcmp(base, "/") ? base : "", suffix);
    if (!*want)
        strcpy(want, "/");
    return getcwd(got, sizeof got) && !strcmp(got, want);
}

int main(void) {
    CHECK(getcwd(base, sizeof base) == base);
    CHECK(base[0] == '/');
    CHECK(cwd_is(""));
    enter();
    CHECK(cwd_is("/" WORKDIR));
    CHECK(mkdir("a", 0755) == 0 && mkdir("a/b", 0755) == 0);
    CHECK(chdir("a") == 0);
    CHECK(cwd_is("/" WORKDIR "/a"));
    CHECK(chdir("b") == 0);
    CHECK(cwd_is("/" WORKDIR "/a/b"));
    CHECK(chdir("..") == 0);
    CHECK(cwd_is("/" WORKDIR "/a"));
    CHECK(chdir(".") == 0);
    CHECK(cwd_is("/" WORKDIR "/a"));
    CHECK(chdir("./b/../b/.") == 0);
    CHECK(cwd_is("/" WORKDIR "/a/b"));
    CHECK(chdir("/") == 0);
    char got[PATH_MAX];
    CHECK(getcwd(got, sizeof got) && !strcmp(got, "/"));
    CHECK(chdir("..") == 0);
    CHECK(getcwd(got, sizeof got) && !strcmp(got, "/"));
    /* back by absolute path */
    char abs[PATH_MAX + 64];
    snprintf(abs, sizeof abs, "%s/%s/a", strcmp(base, "/") ? base : "", WORKDIR);
    CHECK(chdir(abs) == 0);
    CHECK(cwd_is("/" WORKDIR "/a"));
    char *m = getcwd(0, 0);
    CHECK(m != 0 && !strcmp(m, abs));
    free(m);
    /* the returned pointer is the buffer */
    CHECK(getcwd(got, sizeof got) == got);
    /* a relative open after chdir */
    int fd = open("b/f", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(chdir("b") == 0 && access("f", F_OK) == 0);
    CHECK(chdir("../..") == 0);
    CHECK(cwd_is("/" WORKDIR));
    leave();
    CHECK(cwd_is(""));
    return DONE();
}
