/* /proc/self/maps: a [stack] line, this program's file, and a fresh mapping with the permissions it was given. */
#include "conf.h"
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* reopens the file each time: glibc's rewind() may reuse its buffer instead of reading again */
static int has_range(uintptr_t lo, uintptr_t hi, const char *perms) {
    char line[512];
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        char p[8];
        if (sscanf(line, "%lx-%lx %7s", &a, &b, p) == 3 && a == lo && b == hi && strcmp(p, perms) == 0) found = 1;
    }
    fclose(f);
    return found;
}

int main(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    if (!f) return DONE();
    char line[512];
    int stack = 0, well_formed = 1, lines = 0, exe = 0;
    unsigned long prev_end = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b, off;
        char perms[8];
        lines++;
        if (sscanf(line, "%lx-%lx %7s %lx", &a, &b, perms, &off) != 4 || a >= b || a < prev_end || strlen(perms) != 4)
            well_formed = 0;
        prev_end = b;
        if (strstr(line, "[stack]")) {
            stack++;
            volatile int local = 0;
            if ((uintptr_t)&local < a || (uintptr_t)&local >= b) stack = 100;
        }
        if (strstr(line, " /") && perms[2] == 'x') exe++;
    }
    CHECK(lines >= 3);
    CHECK(well_formed);
    CHECK(stack == 1);
    CHECK(exe >= 1);
    char *p = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(mprotect(p + 4096, 4096, PROT_READ | PROT_WRITE) == 0);
    CHECK(has_range((uintptr_t)p, (uintptr_t)p + 4096, "r--p") == 1);
    CHECK(has_range((uintptr_t)p + 4096, (uintptr_t)p + 8192, "rw-p") == 1);
    CHECK(has_range((uintptr_t)p + 8192, (uintptr_t)p + 12288, "r--p") == 1);
    CHECK(munmap(p, 3 * 4096) == 0);
    CHECK(0 == has_range((uintptr_t)p, (uintptr_t)p + 4096, "r--p"));
    fclose(f);
    return DONE();
}
