/* sysinfo: memory totals are consistent, uptime and process count are positive. */
#include "conf.h"
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct sysinfo si;
    memset(&si, 0xff, sizeof si);
    CHECK(sysinfo(&si) == 0);
    CHECK(si.totalram > 0);
    CHECK(si.freeram <= si.totalram);
    CHECK(si.sharedram <= si.totalram);
    CHECK(si.bufferram <= si.totalram);
    CHECK(si.freeswap <= si.totalswap);
    CHECK(si.mem_unit >= 1);
    CHECK((unsigned long long)si.totalram * si.mem_unit >= 16ULL << 20);
    CHECK(si.totalhigh == 0 && si.freehigh == 0);
    CHECK(si.uptime > 0);
    CHECK(si.procs >= 1);
    struct timespec b;
    CHECK(clock_gettime(CLOCK_BOOTTIME, &b) == 0);
    CHECK(si.uptime >= b.tv_sec - 1 && si.uptime <= b.tv_sec + 1);
    struct sysinfo s2;
    CHECK(syscall(SYS_sysinfo, &s2) == 0);
    CHECK(s2.totalram == si.totalram && s2.mem_unit == si.mem_unit);
    CHECK(get_nprocs() >= 1 && get_nprocs_conf() >= get_nprocs());
    CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
    CHECK(sysconf(_SC_PHYS_PAGES) > 0);
    return DONE();
}
