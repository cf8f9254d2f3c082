/* rewinddir and seekdir/telldir: a rewound stream lists everything again, including entries added since. */
#include "conf.h"
#define WORKDIR "dir_rewind.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"

static int count(DIR *d) {
    int n = 0;
    while (readdir(d))
        n++;
    return n;
}

int main(void) {
    enter();
    int ok = 1;
    for (int i = 0; i < 10; i++) {
        char n[16];
        snprintf(n, sizeof n, "f%d", i);
        int fd = open(n, O_WRONLY | O_CREAT, 0644);
        ok &= fd >= 0 && close(fd) == 0;
    }
    CHECK(ok);
    DIR *d = opendir(".");
    CHECK(d != 0);
    CHECK(count(d) == 12);
    CHECK(readdir(d) == 0);
    rewinddir(d);
    CHECK(count(d) == 12);
    int fd = open("new", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    rewinddir(d);
    CHECK(count(d) == 13);
    CHECK(unlink("f3") == 0 && unlink("f4") == 0);
    rewinddir(d);
    CHECK(count(d) == 11);
    /* telldir/seekdir: the rest of the stream repeats exactly */
    rewinddir(d);
    CHECK(readdir(d) != 0 && readdir(d) != 0 && readdir(d) != 0);
    long pos = telldir(d);
    CHECK(pos != -1);
    static char first[64][256];
    int n1 = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n1 < 64)
        snprintf(first[n1++], sizeof first[0], "%s", e->d_name);
    seekdir(d, pos);
    int n2 = 0, same = 1;
    while ((e = readdir(d)) && n2 < 64)
        same &= n2 < n1 && !strcmp(first[n2++], e->d_name);
    CHECK(n1 == 8 && n2 == 8 && same);
    /* dirfd gives a descriptor of the directory */
    int dfd = dirfd(d);
    struct stat st;
    CHECK(dfd >= 0 && fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(closedir(d) == 0);
    leave();
    return DONE();
}
