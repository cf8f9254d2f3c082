/* prctl: PR_SET_NAME/PR_GET_NAME (15 bytes kept), dumpable, pdeathsig, no_new_privs, unknown options EINVAL. */
#include "conf.h"
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void) {
    char name[32];
    memset(name, 'x', sizeof name);
    CHECK(prctl(PR_SET_NAME, "conf-test", 0, 0, 0) == 0);
    CHECK(prctl(PR_GET_NAME, name, 0, 0, 0) == 0);
    CHECK(strcmp(name, "conf-test") == 0);
    SAY("name %s", name);
    CHECK(prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz", 0, 0, 0) == 0);
    CHECK(prctl(PR_GET_NAME, name, 0, 0, 0) == 0);
    CHECK(strcmp(name, "abcdefghijklmno") == 0);
    SAY("name %s", name);
    CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0);
    CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
    CHECK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0);
    CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1);
    CHECK(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0) == -1 && errno == EINVAL);
    int sig = -1;
    CHECK(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0 && sig == 0);
    CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0) == 0);
    CHECK(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0 && sig == SIGUSR1);
    CHECK(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) == 0);
    CHECK(prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0) == -1 && errno == EINVAL);
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == -1 && errno == EINVAL);
    CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0);
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0);
    int sub = 0;
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0) == 0 && sub == 1);
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) == 0);
    CHECK(prctl(12345, 0, 0, 0, 0) == -1 && errno == EINVAL);
    return DONE();
}
