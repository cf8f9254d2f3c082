/* rename of files: to a new name, over an existing file, onto itself, onto a hard link of itself, error cases. */
#include "conf.h"
#define WORKDIR "file_rename.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

static int has(const char *p, const char *want) {
    char b[32] = {0};
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return 0;
    int n = read(fd, b, sizeof b - 1);
    close(fd);
    return n == (int)strlen(want) && memcmp(b, want, n) == 0;
}

static void put(const char *p, const char *s) {
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, s, strlen(s)) == (long)strlen(s) && close(fd) == 0);
}

int main(void) {
    enter();
    struct stat st;
    put("a", "AAA");
    CHECK(rename("a", "b") == 0);
    ERR(stat("a", &st), ENOENT);
    CHECK(has("b", "AAA"));
    /* over an existing file: replaced */
    put("c", "CCCCC");
    CHECK(rename("b", "c") == 0);
    CHECK(has("c", "AAA"));
    ERR(stat("b", &st), ENOENT);
    /* onto itself: nothing happens */
    CHECK(rename("c", "c") == 0);
    CHECK(has("c", "AAA"));
    /* onto another link of the same file: nothing happens, both stay */
    CHECK(link("c", "c2") == 0);
    CHECK(rename("c", "c2") == 0);
    CHECK(has("c", "AAA") && has("c2", "AAA"));
    CHECK(stat("c", &st) == 0 && st.st_nlink == 2);
    CHECK(unlink("c2") == 0);
    /* an open descriptor follows the file */
    int fd = open("c", O_RDWR);
    CHECK(rename("c", "d") == 0);
    CHECK(write(fd, "Z", 1) == 1);
    CHECK(has("d", "ZAA"));
    CHECK(close(fd) == 0);
    /* the replaced file lives on while open */
    put("e", "EEE");
    int old = open("d", O_RDONLY);
    CHECK(rename("e", "d") == 0);
    char b[8] = {0};
    CHECK(read(old, b, sizeof b) == 3 && memcmp(b, "ZAA", 3) == 0);
    CHECK(has("d", "EEE"));
    CHECK(close(old) == 0);
    ERR(rename("missing", "x"), ENOENT);
    ERR(rename("d", "nodir/x"), ENOENT);
    ERR(rename("d", "d/x"), ENOTDIR);
    CHECK(mkdir("dir", 0755) == 0);
    ERR(rename("d", "dir"), EISDIR);
    ERR(rename("dir", "d"), ENOTDIR);
    /* into a subdirectory and back */
    CHECK(rename("d", "dir/d") == 0);
    CHECK(has("dir/d", "EEE"));
    CHECK(rename("dir/d", "d") == 0);
    CHECK(has("d", "EEE"));
    CHECK(renameat(AT_FDCWD, "d", AT_FDCWD, "f") == 0 && has("f", "EEE"));
    leave();
    return DONE();
}
