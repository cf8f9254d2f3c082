/* ENAMETOOLONG: a component over 255 bytes, a path of 4096 bytes or more; 255-byte names and 4095-byte paths work. */
#include "conf.h"
#define WORKDIR "path_toolong.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <limits.h>

int main(void) {
    enter();
    char n255[256], n256[257];
    memset(n255, 'a', 255);
    n255[255] = 0;
    memset(n256, 'b', 256);
    n256[256] = 0;
    struct stat st;
    int fd = open(n255, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(stat(n255, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(access(n255, F_OK) == 0);
    ERR(open(n256, O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
    ERR(open(n256, O_RDONLY), ENAMETOOLONG);
    ERR(stat(n256, &st), ENAMETOOLONG);
    ERR(mkdir(n256, 0755), ENAMETOOLONG);
    ERR(access(n256, F_OK), ENAMETOOLONG);
    ERR(unlink(n256), ENAMETOOLONG);
    ERR(chdir(n256), ENAMETOOLONG);
    ERR(rename(n255, n256), ENAMETOOLONG);
    CHECK(stat(n255, &st) == 0);
    /* a long component in the middle of a path */
    char mid[300];
    snprintf(mid, sizeof mid, "./%s/y", n256);
    ERR(stat(mid, &st), ENAMETOOLONG);
    CHECK(unlink(n255) == 0);
    CHECK(mkdir(n255, 0755) == 0);
    CHECK(rmdir(n255) == 0);
    /* 4095 bytes of "./././..." name the cwd; 4096 bytes are too long */
    static char p[8192];
    for (int i = 0; i < 4095; i++)
        p[i] = i % 2 ? '/' : '.';
    p[4095] = 0;
    CHECK(strlen(p) == PATH_MAX - 1);
    CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(chdir(p) == 0);
    p[4095] = '/';
    p[4096] = 0;
    ERR(stat(p, &st), ENAMETOOLONG);
    ERR(chdir(p), ENAMETOOLONG);
    ERR(open(p, O_RDONLY), ENAMETOOLONG);
    ERR(access(p, F_OK), ENAMETOOLONG);
    memset(p, 'c', 6000);
    p[6000] = 0;
    ERR(stat(p, &st), ENAMETOOLONG);
    /* a long path made of many short existing parts */
    for (int i = 0; i < 819; i++)
        memcpy(p + 5 * i, "d/../", 5);
    p[4095] = 0;
    CHECK(strlen(p) == 4095);
    CHECK(mkdir("d", 0755) == 0);
    CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    leave();
    return DONE();
}
