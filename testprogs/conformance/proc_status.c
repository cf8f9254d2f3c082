/* /proc/self/status: Name (the program's name, at most 15 bytes), State, Pid, PPid, Uid, Threads lines. */
#include "conf.h"
#include <unistd.h>

int main(int argc, char **argv) {
    (void)argc;
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    if (!f) return DONE();
    char line[512], name[64] = "", state = '?';
    int pid = -1, ppid = -1, threads = -1, tgid = -1, have_name = 0;
    unsigned uid[4] = {99, 99, 99, 99};
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Name:", 5) == 0) have_name = sscanf(line, "Name:\t%63s", name) == 1;
        sscanf(line, "State:\t%c", &state);
        sscanf(line, "Pid:\t%d", &pid);
        sscanf(line, "Tgid:\t%d", &tgid);
        sscanf(line, "PPid:\t%d", &ppid);
        sscanf(line, "Threads:\t%d", &threads);
        sscanf(line, "Uid:\t%u\t%u\t%u\t%u", &uid[0], &uid[1], &uid[2], &uid[3]);
    }
    fclose(f);
    CHECK(have_name);
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    CHECK(strncmp(name, base, 15) == 0 && strlen(name) == (strlen(base) < 15 ? strlen(base) : 15));
    CHECK(state == 'R');
    CHECK(pid == getpid());
    CHECK(tgid == getpid());
    CHECK(ppid == getppid());
    CHECK(threads == 1);
    CHECK(uid[0] == getuid() && uid[1] == geteuid() && uid[2] == geteuid() && uid[3] == geteuid());
    return DONE();
}
