/* Nested directories 8 deep: create, reach a file by a long relative path and by chdir, remove bottom-up. */
#include "conf.h"
#define WORKDIR "dir_nested.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    char path[256] = "";
    int ok = 1;
    for (int i = 0; i < 8; i++) {
        char part[8];
        snprintf(part, sizeof part, "%sl%d", i ? "/" : "", i);
        strcat(path, part);
        ok &= mkdir(path, 0755) == 0;
    }
    CHECK(ok);
    SAY("deepest %s", path);
    char file[300];
    snprintf(file, sizeof file, "%s/leaf", path);
    int fd = open(file, O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0 && write(fd, "deep", 4) == 4 && close(fd) == 0);
    struct stat st;
    CHECK(stat(file, &st) == 0 && st.st_size == 4);
    ERR(rmdir("l0"), ENOTEMPTY);
    ERR(rmdir(path), ENOTEMPTY);
    CHECK(chdir(path) == 0);
    CHECK(stat("leaf", &st) == 0 && st.st_size == 4);
    CHECK(stat("../l7/leaf", &st) == 0);
    CHECK(stat("../../../../../../../../l0", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(chdir("../../../..") == 0);
    CHECK(stat("l4/l5/l6/l7/leaf", &st) == 0);
    CHECK(chdir("l4/../l4/l5/./l6/..") == 0);
    CHECK(stat("l6/l7/leaf", &st) == 0);
    CHECK(chdir("../../../../../..") == 0);
    CHECK(stat("l0", &st) == 0);
    /* sibling trees */
    CHECK(mkdir("l0/l1/other", 0755) == 0);
    CHECK(mkdir("l0/l1/other/deeper", 0755) == 0);
    CHECK(stat("l0/l1/other/deeper/../../l2/l3/l4/l5/l6/l7/leaf", &st) == 0);
    CHECK(rmdir("l0/l1/other/deeper") == 0 && rmdir("l0/l1/other") == 0);
    CHECK(unlink(file) == 0);
    ok = 1;
    for (int i = 7; i >= 0; i--) {
        ok &= rmdir(path) == 0;
        char *s = strrchr(path, '/');
        if (s)
            *s = 0;
    }
    CHECK(ok);
    ERR(stat("l0", &st), ENOENT);
    leave();
    return DONE();
}
