/* rename of directories: moving, over an empty directory, ENOTEMPTY, EINVAL into itself, ENOTDIR/EISDIR with files. */
#include "conf.h"
#define WORKDIR "dir_rename.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    struct stat st;
    CHECK(mkdir("a", 0755) == 0);
    int fd = open("a/f", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && write(fd, "in a", 4) == 4 && close(fd) == 0);
    CHECK(rename("a", "b") == 0);
    ERR(stat("a", &st), ENOENT);
    CHECK(stat("b/f", &st) == 0 && st.st_size == 4);
    /* over an empty directory: replaced */
    CHECK(mkdir("empty", 0755) == 0);
    CHECK(rename("b", "empty") == 0);
    CHECK(stat("empty/f", &st) == 0);
    ERR(stat("b", &st), ENOENT);
    /* over a non-empty directory: refused */
    CHECK(mkdir("full", 0755) == 0);
    fd = open("full/g", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    ERR(rename("empty", "full"), ENOTEMPTY);
    CHECK(stat("empty/f", &st) == 0 && stat("full/g", &st) == 0);
    /* into its own subtree */
    CHECK(mkdir("empty/sub", 0755) == 0);
    ERR(rename("empty", "empty/sub/x"), EINVAL);
    ERR(rename("empty", "empty/x"), EINVAL);
    /* onto itself */
    CHECK(rename("empty", "empty") == 0);
    CHECK(stat("empty/sub", &st) == 0);
    /* directory vs file */
    fd = open("file", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    ERR(rename("empty", "file"), ENOTDIR);
    ERR(rename("file", "full"), EISDIR);
    /* into another directory, and out again with a trailing slash */
    CHECK(rename("empty", "full/moved") == 0);
    CHECK(stat("full/moved/sub", &st) == 0);
    CHECK(rename("full/moved/", "back") == 0);
    CHECK(stat("back/f", &st) == 0 && st.st_size == 4);
    /* .. of the moved directory is its new parent */
    CHECK(rename("back/sub", "full/sub") == 0);
    CHECK(stat("full/sub/../g", &st) == 0);
    ERR(rename("file/", "x"), ENOTDIR);
    ERR(rename(".", "x"), EBUSY);
    ERR(rename("full", "."), EBUSY);
    leave();
    return DONE();
}
