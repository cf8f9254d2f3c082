/* File I/O in the vNode. Usage: files write DIR | files read DIR. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s (errno %d)\n", __LINE__, #c, errno); return 1; } } while (0)
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    char path[512], path2[512];
    snprintf(path, sizeof path, "%s/data.txt", argv[2]);
    snprintf(path2, sizeof path2, "%s/moved.txt", argv[2]);
    if (!strcmp(argv[1], "write")) {
        CHECK(mkdir(argv[2], 0755) == 0 || errno == EEXIST);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        for (int i = 0; i < 1000; i++) fprintf(f, "line %d of the file\n", i);
        CHECK(fclose(f) == 0);
        int fd = open(path2, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, "to be renamed\n", 14) == 14);
        CHECK(fsync(fd) == 0);
        CHECK(close(fd) == 0);
        snprintf(path, sizeof path, "%s/renamed.txt", argv[2]);
        CHECK(rename(path2, path) == 0);
        struct stat st;
        CHECK(stat(path, &st) == 0 && st.st_size == 14 && S_ISREG(st.st_mode));
        CHECK(stat(path2, &st) == -1 && errno == ENOENT);
        snprintf(path2, sizeof path2, "%s/gone.txt", argv[2]);
        fd = open(path2, O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0 && close(fd) == 0);
        CHECK(unlink(path2) == 0);
        printf("wrote\n");
        return 0;
    }
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char line[128];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char want[128];
        snprintf(want, sizeof want, "line %d of the file\n", n);
        CHECK(!strcmp(line, want));
        n++;
    }
    fclose(f);
    CHECK(n == 1000);
    DIR *d = opendir(argv[2]);
    CHECK(d != NULL);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d))) if (e->d_name[0] != '.') { printf("entry %s\n", e->d_name); entries++; }
    closedir(d);
    CHECK(entries == 2);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    off_t end = lseek(fd, 0, SEEK_END);
    CHECK(end == 20890);
    CHECK(lseek(fd, end - 21, SEEK_SET) == end - 21);
    CHECK(read(fd, line, 21) == 21 && !memcmp(line, "line 999 of the file\n", 21));
    close(fd);
    printf("read %d lines\n", n);
    return 0;
}
