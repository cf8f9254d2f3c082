/* unlink: the name goes (ENOENT after), open descriptors keep the data, a new file by the same name is separate. */
#include "conf.h"
#define WORKDIR "file_unlink.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, "old data", 8) == 8);
    CHECK(unlink("f") == 0);
    struct stat st;
    ERR(stat("f", &st), ENOENT);
    ERR(open("f", O_RDONLY), ENOENT);
    ERR(unlink("f"), ENOENT);
    ERR(access("f", F_OK), ENOENT);
    /* still usable through the descriptor */
    CHECK(fstat(fd, &st) == 0 && st.st_size == 8 && st.st_nlink == 0);
    char b[16] = {0};
    CHECK(pread(fd, b, sizeof b, 0) == 8 && memcmp(b, "old data", 8) == 0);
    CHECK(write(fd, "+more", 5) == 5);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 13);
    /* the same name again is a new, empty file */
    int g = open("f", O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(g >= 0);
    CHECK(fstat(g, &st) == 0 && st.st_size == 0 && st.st_nlink == 1);
    CHECK(pread(fd, b, sizeof b, 0) == 13);
    CHECK(close(fd) == 0);
    CHECK(close(g) == 0);
    CHECK(stat("f", &st) == 0 && st.st_size == 0);
    /* unlink one of two links */
    CHECK(link("f", "h") == 0);
    CHECK(unlink("f") == 0);
    CHECK(stat("h", &st) == 0 && st.st_nlink == 1);
    CHECK(unlinkat(AT_FDCWD, "h", 0) == 0);
    ERR(stat("h", &st), ENOENT);
    ERR(unlink("missing"), ENOENT);
    ERR(unlink("nodir/x"), ENOENT);
    CHECK(mkdir("d", 0755) == 0);
    ERR(unlink("d"), EISDIR);
    int x = open("d/x", O_WRONLY | O_CREAT, 0644);
    CHECK(x >= 0 && close(x) == 0);
    ERR(unlink("d/x/y"), ENOTDIR);
    CHECK(unlink("d/x") == 0);
    CHECK(rmdir("d") == 0);
    leave();
    return DONE();
}
