/* A program's scratch directory: `#define WORKDIR "name.d"`, then include this after conf.h.
 * enter() makes WORKDIR fresh in the current directory (removing what an earlier failed run
 * left) and goes in; leave() comes back out and checks that it is all removed. */
#ifndef WORKDIR_H
#define WORKDIR_H
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes a tree (also one left behind by an earlier failed run); 0 when it is gone. */
static int rmtree(const char *p) {
    struct stat st;
    if (lstat(p, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(p);
    for (int pass = 0; pass < 4; pass++) {
        DIR *d = opendir(p);
        if (!d)
            break;
        struct dirent *e;
        char b[1024];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                snprintf(b, sizeof b, "%s/%s", p, e->d_name) < (int)sizeof b)
                rmtree(b);
        closedir(d);
        if (rmdir(p) == 0)
            return 0;
    }
    return -1;
}

/* Works inside WORKDIR, made fresh in the current directory. */
static void enter(void) {
    rmtree(WORKDIR);
    CHECK(mkdir(WORKDIR, 0755) == 0);
    CHECK(chdir(WORKDIR) == 0);
}

static void leave(void) {
    CHECK(chdir("..") == 0);
    CHECK(rmtree(WORKDIR) == 0);
}

#endif
