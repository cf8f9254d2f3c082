/* /proc/self/cmdline holds exactly argv, each string NUL-terminated; the first is argv[0]. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

static int check_cmdline(int argc, char **argv) {
    char buf[4096];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = 0, r;
    while ((r = read(fd, buf + n, sizeof buf - n)) > 0) n += r;
    close(fd);
    ssize_t pos = 0;
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]) + 1;
        if (pos + (ssize_t)l > n || memcmp(buf + pos, argv[i], l) != 0) return 0;
        pos += l;
    }
    return pos == n;
}

int main(int argc, char **argv) {
    char buf[4096];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n > 0);
    CHECK(close(fd) == 0);
    if (n < 0) n = 0;
    buf[n] = 0;
    CHECK(buf[n - 1] == 0);
    CHECK(strcmp(buf, argv[0]) == 0);
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    CHECK(strstr(buf, base) != NULL);
    CHECK(check_cmdline(argc, argv));
    return DONE();
}
