/* /proc/cpuinfo: "processor : N" lines numbered from 0, with vendor_id and flags lines. */
#include "conf.h"
#include <unistd.h>

int main(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    CHECK(f != NULL);
    if (!f) return DONE();
    char line[8192];
    int procs = 0, first = -1, vendor = 0, flags = 0, in_order = 1, fpu = 0;
    while (fgets(line, sizeof line, f)) {
        int n;
        if (sscanf(line, "processor : %d", &n) == 1 || sscanf(line, "processor\t: %d", &n) == 1) {
            if (first < 0) first = n;
            if (n < procs) in_order = 0;
            procs++;
        }
        if (strncmp(line, "vendor_id", 9) == 0) vendor++;
        if (strncmp(line, "flags", 5) == 0) {
            flags++;
            if (strstr(line, " fpu ") || strstr(line, ": fpu ")) fpu++;
        }
    }
    fclose(f);
    CHECK(procs >= 1);
    CHECK(first == 0);
    CHECK(in_order);
    CHECK(vendor == procs);
    CHECK(flags == procs);
    CHECK(fpu == procs);
    return DONE();
}
