/* readlink of /proc/self/exe: an absolute path whose last component is the program's name; readlink errors. */
#include "conf.h"
#define WORKDIR "path_proc_exe.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <limits.h>

static const char *base(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int main(int argc, char **argv) {
    CHECK(argc >= 1);
    char b[PATH_MAX + 1];
    memset(b, 'X', sizeof b);
    ssize_t n = readlink("/proc/self/exe", b, sizeof b - 1);
    CHECK(n > 0 && n < PATH_MAX);
    /* readlink does not terminate the string */
    CHECK(n > 0 && b[n] == 'X');
    if (n > 0)
        b[n] = 0;
    CHECK(b[0] == '/');
    CHECK(!strcmp(base(b), base(argv[0])));
    CHECK(strstr(b, "//") == 0);
    /* the target exists and is a regular file */
    struct stat st, st2;
    CHECK(stat(b, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(stat("/proc/self/exe", &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev);
    /* a short buffer: truncated to its size */
    char s[4];
    CHECK(readlink("/proc/self/exe", s, sizeof s) == sizeof s);
    CHECK(!memcmp(s, b, sizeof s));
    CHECK(readlink("/proc/self/exe", s, 1) == 1 && s[0] == '/');
    /* the same through readlinkat */
    char c[PATH_MAX];
    CHECK(readlinkat(AT_FDCWD, "/proc/self/exe", c, sizeof c) == n);
    CHECK(!memcmp(b, c, n));
    enter();
    int fd = open("f", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    ERR(readlink("f", c, sizeof c), EINVAL);
    ERR(readlink(".", c, sizeof c), EINVAL);
    ERR(readlink("missing", c, sizeof c), ENOENT);
    ERR(readlink("f/x", c, sizeof c), ENOTDIR);
    ERR(readlink("", c, sizeof c), ENOENT);
    leave();
    return DONE();
}
