/* /sys/devices/system/cpu/online: a CPU list like "0" or "0-3" ending in a newline. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int fd = open("/sys/devices/system/cpu/online", O_RDONLY);
    CHECK(fd >= 0);
    char buf[256] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n >= 2);
    CHECK(close(fd) == 0);
    if (n < 0) n = 0;
    buf[n] = 0;
    CHECK(buf[0] == '0');
    CHECK(buf[n - 1] == '\n');
    int ok = 1;
    for (ssize_t i = 0; i < n - 1; i++)
        if (!strchr("0123456789,-", buf[i])) ok = 0;
    CHECK(ok);
    fd = open("/sys/devices/system/cpu/possible", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(read(fd, buf, sizeof buf - 1) >= 2 && buf[0] == '0');
    CHECK(close(fd) == 0);
    return DONE();
}
