/* getgroups: the count, filling a list of exactly that size, too small a list, a negative size. */
#include "conf.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    gid_t list[65536 / sizeof(gid_t)];
    int n = getgroups(0, NULL);
    CHECK(n >= 0);
    CHECK(n <= (int)(sizeof list / sizeof list[0]));
    CHECK(getgroups(n, list) == n);
    CHECK(getgroups(sizeof list / sizeof list[0], list) == n);
    CHECK(n == 0 || (getgroups(n - 1, list) == -1 && errno == EINVAL));
    ERR(syscall(SYS_getgroups, -1, list), EINVAL);
    CHECK(syscall(SYS_getgroups, 0, 0) == n);
    int dup = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) dup |= list[i] == list[j];
    CHECK(!dup);
    return DONE();
}
