/* open with O_CREAT and O_EXCL: create, reopen without truncating, EEXIST, ENOENT, creat(), a trailing slash. */
#include "conf.h"
#define WORKDIR "file_creat.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

int main(void) {
    enter();
    struct stat st;
    ERR(open("f", O_RDONLY), ENOENT);
    ERR(open("f", O_RDWR), ENOENT);
    ERR(stat("f", &st), ENOENT);
    int fd = open("f", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
    CHECK(write(fd, "keep", 4) == 4);
    CHECK(close(fd) == 0);
    /* O_CREAT on an existing file opens it as it is */
    fd = open("f", O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);
    char b[8] = {0};
    CHECK(read(fd, b, sizeof b) == 4 && memcmp(b, "keep", 4) == 0);
    CHECK(close(fd) == 0);
    ERR(open("f", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
    ERR(open("f", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    CHECK(stat("f", &st) == 0 && st.st_size == 4);
    fd = open("g", O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
    CHECK(close(fd) == 0);
    /* O_EXCL without O_CREAT has no effect on an existing file */
    fd = open("f", O_RDONLY | O_EXCL);
    CHECK(fd >= 0 && close(fd) == 0);
    /* a directory that exists also counts for O_EXCL */
    CHECK(mkdir("d", 0755) == 0);
    ERR(open("d", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    /* a missing parent */
    ERR(open("nodir/f", O_RDWR | O_CREAT, 0644), ENOENT);
    ERR(open("f/x", O_RDWR | O_CREAT, 0644), ENOTDIR);
    /* creat() is O_WRONLY|O_CREAT|O_TRUNC */
    fd = creat("f", 0644);
    CHECK(fd >= 0);
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
    ERR(read(fd, b, 1), EBADF);
    CHECK(close(fd) == 0);
    /* a name with a trailing slash cannot be created as a file */
    ERR(open("new/", O_RDWR | O_CREAT, 0644), EISDIR);
    ERR(stat("new", &st), ENOENT);
    ERR(open("f/", O_RDONLY), ENOTDIR);
    /* openat with AT_FDCWD creates in the cwd */
    fd = openat(AT_FDCWD, "h", O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(stat("h", &st) == 0 && S_ISREG(st.st_mode));
    leave();
    return DONE();
}
