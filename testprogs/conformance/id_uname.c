/* uname: every field is non-empty and NUL-terminated, sysname is "Linux", machine is "x86_64". */
#include "conf.h"
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static int terminated(const char *f) { return memchr(f, 0, sizeof(((struct utsname *)0)->sysname)) != NULL; }

int main(void) {
    struct utsname u, v;
    memset(&u, 0x55, sizeof u);
    CHECK(uname(&u) == 0);
    CHECK(terminated(u.sysname) && terminated(u.nodename) && terminated(u.release));
    CHECK(terminated(u.version) && terminated(u.machine) && terminated(u.domainname));
    CHECK(u.sysname[0] && u.nodename[0] && u.release[0] && u.version[0] && u.machine[0]);
    CHECK(u.domainname[0] != 0);
    CHECK(strcmp(u.sysname, "Linux") == 0);
    CHECK(strcmp(u.machine, "x86_64") == 0);
    SAY("sysname %s machine %s", u.sysname, u.machine);
    CHECK(u.release[0] >= '1' && u.release[0] <= '9');
    CHECK(strchr(u.release, '.') != NULL);
    CHECK(syscall(SYS_uname, &v) == 0);
    CHECK(memcmp(&u, &v, sizeof u) == 0);
    char host[sizeof u.nodename + 1];
    CHECK(gethostname(host, sizeof host) == 0);
    CHECK(strcmp(host, u.nodename) == 0);
    return DONE();
}
