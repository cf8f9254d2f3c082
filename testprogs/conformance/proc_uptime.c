/* /proc/uptime: two decimal numbers with two fractional digits; the first matches CLOCK_BOOTTIME. */
#include "conf.h"
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    int fd = open("/proc/uptime", O_RDONLY);
    CHECK(fd >= 0);
    char buf[128] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n > 0);
    CHECK(close(fd) == 0);
    if (n < 0) n = 0;
    buf[n] = 0;
    double up = -1, idle = -1;
    char c1 = 0, c2 = 0;
    CHECK(sscanf(buf, "%lf %lf", &up, &idle) == 2);
    CHECK(up > 0 && idle >= 0);
    CHECK(buf[n - 1] == '\n');
    unsigned long a, b, c, d;
    CHECK(sscanf(buf, "%lu.%2lu%c%lu.%2lu%c", &a, &b, &c1, &c, &d, &c2) == 6 && c1 == ' ' && c2 == '\n');
    struct timespec t;
    clock_gettime(CLOCK_BOOTTIME, &t);
    double bt = t.tv_sec + t.tv_nsec / 1e9;
    CHECK(up <= bt + 0.1 && up > bt - 1.0);
    return DONE();
}
