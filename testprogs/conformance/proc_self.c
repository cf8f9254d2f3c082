/* /proc/self is a link to /proc/<pid>; /proc/self/cwd and /proc/self/root; /proc/thread-self. */
#include "conf.h"
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    char buf[PATH_MAX], want[64];
    ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n < 0 ? 0 : n] = 0;
    snprintf(want, sizeof want, "%d", (int)getpid());
    CHECK(strcmp(buf, want) == 0);
    struct stat a, b;
    CHECK(stat("/proc/self", &a) == 0 && S_ISDIR(a.st_mode));
    snprintf(want, sizeof want, "/proc/%d", (int)getpid());
    CHECK(stat(want, &b) == 0 && a.st_ino == b.st_ino);
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n < 0 ? 0 : n] = 0;
    CHECK(strcmp(buf, cwd) == 0);
    n = readlink("/proc/self/root", buf, sizeof buf - 1);
    CHECK(n == 1 && buf[0] == '/');
    n = readlink("/proc/thread-self", buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n < 0 ? 0 : n] = 0;
    snprintf(want, sizeof want, "%d/task/%d", (int)getpid(), (int)getpid());
    CHECK(strcmp(buf, want) == 0);
    ERR(stat("/proc/999999", &a), ENOENT);
    CHECK(chdir("/proc/self") == 0);
    CHECK(stat("status", &a) == 0 && S_ISREG(a.st_mode));
    return DONE();
}
