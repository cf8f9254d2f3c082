/* /proc/loadavg: three load averages, running/total tasks, and the last pid. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int fd = open("/proc/loadavg", O_RDONLY);
    CHECK(fd >= 0);
    char buf[256] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n > 0);
    CHECK(close(fd) == 0);
    if (n < 0) n = 0;
    buf[n] = 0;
    double l1 = -1, l5 = -1, l15 = -1;
    int run = -1, total = -1, last = -1;
    CHECK(sscanf(buf, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &run, &total, &last) == 6);
    CHECK(l1 >= 0 && l5 >= 0 && l15 >= 0);
    CHECK(run >= 1 && total >= run);
    CHECK(last > 0);
    CHECK(buf[n - 1] == '\n');
    return DONE();
}
