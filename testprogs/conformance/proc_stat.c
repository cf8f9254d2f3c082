/* /proc/self/stat: pid, (comm), state R, ppid, pgrp, session, and thread count fields. */
#include "conf.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    (void)argc;
    int fd = open("/proc/self/stat", O_RDONLY);
    CHECK(fd >= 0);
    char buf[1024] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n > 0);
    CHECK(close(fd) == 0);
    if (n < 0) n = 0;
    buf[n] = 0;
    int pid = -1;
    CHECK(sscanf(buf, "%d ", &pid) == 1 && pid == getpid());
    char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
    CHECK(lp && rp && rp > lp);
    if (!lp || !rp) return DONE();
    *rp = 0;
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    CHECK(strncmp(lp + 1, base, 15) == 0);
    char state = 0;
    int ppid = -1, pgrp = -1, sid = -1, tty, tpgid, fields;
    unsigned flags;
    long threads = -1;
    unsigned long x;
    long y;
    fields = sscanf(rp + 2, "%c %d %d %d %d %d %u %lu %lu %lu %lu %lu %lu %ld %ld %ld %ld %ld", &state, &ppid, &pgrp,
                    &sid, &tty, &tpgid, &flags, &x, &x, &x, &x, &x, &x, &y, &y, &y, &y, &threads);
    CHECK(fields == 18);
    CHECK(state == 'R');
    CHECK(ppid == getppid());
    CHECK(pgrp == getpgrp());
    CHECK(sid == getsid(0));
    CHECK(threads == 1);
    CHECK(buf[n - 1] == '\n');
    return DONE();
}
