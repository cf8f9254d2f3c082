/* umask returns the previous mask, keeps only 0777, and masks the mode of new files and directories. */
#include "conf.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    umask(022);
    CHECK(umask(077) == 022);
    CHECK(umask(077) == 077);
    CHECK(umask(01777) == 077);
    CHECK(umask(0) == 0777);
    CHECK(syscall(SYS_umask, 027) == 0);
    CHECK(umask(027) == 027);
    CHECK(mkdir("id_umask.d", 0777) == 0);
    struct stat st;
    CHECK(stat("id_umask.d", &st) == 0 && (st.st_mode & 07777) == 0750);
    int fd = open("id_umask.d/f", O_CREAT | O_WRONLY, 0666);
    CHECK(fd >= 0);
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0640);
    CHECK(close(fd) == 0);
    umask(0);
    CHECK(mkdir("id_umask.d/sub", 0751) == 0);
    CHECK(stat("id_umask.d/sub", &st) == 0 && (st.st_mode & 07777) == 0751);
    fd = open("id_umask.d/f", O_RDONLY);
    CHECK(fchmod(fd, 0777) == 0 && close(fd) == 0);
    CHECK(stat("id_umask.d/f", &st) == 0 && (st.st_mode & 07777) == 0777); /* chmod ignores umask */
    CHECK(rmdir("id_umask.d/sub") == 0);
    CHECK(unlink("id_umask.d/f") == 0);
    CHECK(rmdir("id_umask.d") == 0);
    return DONE();
}
