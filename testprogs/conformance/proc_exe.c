/* /proc/self/exe: an absolute path to this program (same file as argv[0]), truncation by a small buffer. */
#include "conf.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    (void)argc;
    char buf[PATH_MAX + 1];
    ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX);
    CHECK(n > 0 && n < PATH_MAX);
    if (n < 0) n = 0;
    buf[n] = 0;
    CHECK(buf[0] == '/');
    const char *base = strrchr(buf, '/') + 1;
    const char *arg0 = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    CHECK(strcmp(base, arg0) == 0);
    struct stat a, b, c;
    CHECK(stat(buf, &a) == 0);
    CHECK(stat("/proc/self/exe", &b) == 0);
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    CHECK(S_ISREG(b.st_mode));
    CHECK(lstat("/proc/self/exe", &c) == 0 && S_ISLNK(c.st_mode));
    char small[4];
    CHECK(readlink("/proc/self/exe", small, sizeof small) == 4);
    CHECK(memcmp(small, buf, 4) == 0);
    char buf2[PATH_MAX];
    snprintf(buf2, sizeof buf2, "/proc/%d/exe", (int)getpid());
    char buf3[PATH_MAX + 1];
    ssize_t m = readlink(buf2, buf3, PATH_MAX);
    CHECK(m == n && memcmp(buf, buf3, n) == 0);
    int fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0);
    char elf[4] = {0};
    CHECK(read(fd, elf, 4) == 4 && memcmp(elf, "\177ELF", 4) == 0);
    CHECK(close(fd) == 0);
    return DONE();
}
