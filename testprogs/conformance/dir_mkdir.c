/* mkdir/rmdir: create and remove, EEXIST, ENOENT for a missing parent or directory, ENOTEMPTY, trailing slashes. */
#include "conf.h"
#define WORKDIR "dir_mkdir.d"
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
    CHECK(stat("a", &st) == 0 && S_ISDIR(st.st_mode));
    ERR(mkdir("a", 0755), EEXIST);
    ERR(mkdir("a/", 0755), EEXIST);
    ERR(mkdir(".", 0755), EEXIST);
    ERR(mkdir("..", 0755), EEXIST);
    ERR(mkdir("x/y", 0755), ENOENT);
    CHECK(mkdir("b/", 0755) == 0);
    CHECK(stat("b", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(rmdir("b/") == 0);
    ERR(stat("b", &st), ENOENT);
    CHECK(mkdir("a/sub", 0755) == 0);
    ERR(rmdir("a"), ENOTEMPTY);
    CHECK(rmdir("a/sub") == 0);
    int fd = open("a/file", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    ERR(rmdir("a"), ENOTEMPTY);
    CHECK(unlink("a/file") == 0);
    CHECK(rmdir("a") == 0);
    ERR(rmdir("a"), ENOENT);
    ERR(stat("a", &st), ENOENT);
    ERR(rmdir("missing/x"), ENOENT);
    /* a directory can be made again after removal */
    CHECK(mkdir("a", 0755) == 0);
    CHECK(stat("a", &st) == 0 && S_ISDIR(st.st_mode));
    /* a new directory is empty: only . and .. */
    DIR *d = opendir("a");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n++;
    CHECK(d && closedir(d) == 0);
    CHECK(n == 2);
    /* an open directory can be removed; it reads as empty */
    int dfd = open("a", O_RDONLY | O_DIRECTORY);
    CHECK(rmdir("a") == 0);
    CHECK(fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode));
    ERR(openat(dfd, "new", O_WRONLY | O_CREAT, 0644), ENOENT);
    CHECK(close(dfd) == 0);
    ERR(mkdir("", 0755), ENOENT);
    ERR(rmdir(""), ENOENT);
    leave();
    return DONE();
}
