/* File mappings: MAP_PRIVATE reads the file and its writes stay private; MAP_SHARED writes reach the file; offsets and fd modes checked. */
#include "conf.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    CHECK(mkdir("mm_file.d", 0755) == 0);
    int fd = open("mm_file.d/f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    char buf[8192];
    for (int i = 0; i < 8192; i++) buf[i] = (char)('A' + i % 26);
    CHECK(write(fd, buf, 8192) == 8192);
    CHECK(write(fd, "tail", 4) == 4);

    char *p = mmap(NULL, 8196, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(memcmp(p, buf, 8192) == 0);
    CHECK(memcmp(p + 8192, "tail", 4) == 0);
    CHECK(p[8196] == 0 && p[3 * 4096 - 1] == 0); /* the rest of the last page is zero */
    p[0] = '#';
    p[8192] = '#';
    char c = 0;
    CHECK(pread(fd, &c, 1, 0) == 1 && c == 'A');
    CHECK(pread(fd, &c, 1, 8192) == 1 && c == 't');
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 8196);

    /* a second mapping at an offset */
    char *o = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    CHECK(o != MAP_FAILED);
    CHECK(memcmp(o, buf + 4096, 4096) == 0);
    CHECK(munmap(o, 4096) == 0);

    /* shared: writes go to the file, and file writes show in the mapping */
    char *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(s != MAP_FAILED);
    s[1] = '!';
    CHECK(msync(s, 4096, MS_SYNC) == 0);
    CHECK(pread(fd, &c, 1, 1) == 1 && c == '!');
    CHECK(pwrite(fd, "?", 1, 2) == 1);
    CHECK(s[2] == '?');
    CHECK(p[0] == '#'); /* the private copy of page 0 is unaffected */
    CHECK(munmap(s, 4096) == 0);
    CHECK(munmap(p, 8196) == 0);

    /* errors */
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100) == MAP_FAILED && errno == EINVAL);
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 999, 0) == MAP_FAILED && errno == EBADF);
    int wo = open("mm_file.d/f", O_WRONLY);
    CHECK(wo >= 0);
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0) == MAP_FAILED && errno == EACCES);
    int ro = open("mm_file.d/f", O_RDONLY);
    CHECK(ro >= 0);
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED && errno == EACCES);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0); /* private writable is fine */
    CHECK(p != MAP_FAILED);
    CHECK(munmap(p, 4096) == 0);
    int d = open("mm_file.d", O_RDONLY);
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, d, 0) == MAP_FAILED && errno == ENODEV);
    CHECK(close(d) == 0 && close(ro) == 0 && close(wo) == 0 && close(fd) == 0);
    CHECK(unlink("mm_file.d/f") == 0);
    CHECK(rmdir("mm_file.d") == 0);
    return DONE();
}
