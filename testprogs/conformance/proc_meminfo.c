/* /proc/meminfo: MemTotal/MemFree/MemAvailable lines in kB, consistent with each other and with sysinfo(). */
#include "conf.h"
#include <sys/sysinfo.h>

int main(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    CHECK(f != NULL);
    if (!f) return DONE();
    char line[256], unit[8];
    unsigned long long total = 0, freek = 0, avail = 0, v;
    int first_total = 0, nlines = 0, ok = 1;
    while (fgets(line, sizeof line, f)) {
        char key[64];
        nlines++;
        if (sscanf(line, "%63s %llu", key, &v) != 2 || key[strlen(key) - 1] != ':') ok = 0;
        if (nlines == 1) first_total = strncmp(line, "MemTotal:", 9) == 0;
        if (sscanf(line, "MemTotal: %llu %7s", &v, unit) == 2) total = v, ok &= strcmp(unit, "kB") == 0;
        if (sscanf(line, "MemFree: %llu", &v) == 1) freek = v;
        if (sscanf(line, "MemAvailable: %llu", &v) == 1) avail = v;
    }
    fclose(f);
    CHECK(first_total);
    CHECK(ok);
    CHECK(nlines >= 3);
    CHECK(total > 0);
    CHECK(freek > 0 && freek <= total);
    CHECK(avail > 0 && avail <= total);
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0);
    CHECK((unsigned long long)si.totalram * si.mem_unit == total * 1024);
    return DONE();
}
