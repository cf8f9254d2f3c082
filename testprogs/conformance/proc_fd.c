/* /proc/self/fd: lists 0, 1, 2 and newly opened descriptors; the links name the opened files. */
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int listed(int want) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) == want) found = 1;
    closedir(d);
    return found;
}

int main(void) {
    CHECK(listed(0) == 1 && listed(1) == 1 && listed(2) == 1);
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 3);
    CHECK(listed(fd) == 1);
    int hi = dup2(fd, 77);
    CHECK(hi == 77 && listed(77) == 1);
    char buf[256];
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    CHECK(n == 9);
    buf[n < 0 ? 0 : n] = 0;
    CHECK(strcmp(buf, "/dev/null") == 0);
    CHECK(readlink("/proc/self/fd/77", buf, sizeof buf) == 9);
    CHECK(close(hi) == 0 && listed(77) == 0);
    CHECK(close(fd) == 0);
    ERR(readlink("/proc/self/fd/77", buf, sizeof buf), ENOENT);
    ERR(readlink(path, buf, sizeof buf), ENOENT);
    /* opening the link reopens the file */
    fd = open("/dev/zero", O_RDONLY);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int again = open(path, O_RDONLY);
    CHECK(again >= 0 && again != fd);
    char z = 1;
    CHECK(read(again, &z, 1) == 1 && z == 0);
    CHECK(close(again) == 0 && close(fd) == 0);
    /* the directory's own descriptor is listed while it is open */
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int dfd = d ? dirfd(d) : -1, self = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (atoi(e->d_name) == dfd && e->d_name[0] != '.') self = 1;
    CHECK(self);
    if (d) closedir(d);
    return DONE();
}
