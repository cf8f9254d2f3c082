/* poll/select on regular files and /dev/null, /dev/zero: always readable and writable, even at end of file. */
#include "conf.h"
#define WORKDIR "poll_file.d"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workdir.h"
#include <poll.h>
#include <sys/select.h>

int main(void) {
    enter();
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    struct pollfd a = {fd, POLLIN | POLLOUT, 0};
    CHECK(poll(&a, 1, 0) == 1);
    CHECK(a.revents == (POLLIN | POLLOUT));
    CHECK(write(fd, "data", 4) == 4);
    CHECK(poll(&a, 1, -1) == 1 && a.revents == (POLLIN | POLLOUT));
    struct pollfd in = {fd, POLLIN, 0}, out = {fd, POLLOUT, 0};
    CHECK(poll(&in, 1, 0) == 1 && in.revents == POLLIN);
    CHECK(poll(&out, 1, 0) == 1 && out.revents == POLLOUT);
    int ro = open("f", O_RDONLY);
    struct pollfd r = {ro, POLLIN | POLLOUT, 0};
    CHECK(poll(&r, 1, 0) == 1 && r.revents == (POLLIN | POLLOUT));
    int dn = open("/dev/null", O_RDWR), dz = open("/dev/zero", O_RDONLY);
    struct pollfd d[2] = {{dn, POLLIN | POLLOUT, 0}, {dz, POLLIN, 0}};
    CHECK(poll(d, 2, 0) == 2);
    CHECK(d[0].revents == (POLLIN | POLLOUT) && d[1].revents == POLLIN);
    fd_set rs, ws;
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_SET(fd, &rs);
    FD_SET(fd, &ws);
    FD_SET(dn, &rs);
    FD_SET(ro, &rs);
    int max = fd > dn ? fd : dn;
    max = max > ro ? max : ro;
    CHECK(select(max + 1, &rs, &ws, 0, 0) == 4);
    CHECK(FD_ISSET(fd, &rs) && FD_ISSET(fd, &ws) && FD_ISSET(dn, &rs) && FD_ISSET(ro, &rs));
    /* the directory too */
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    struct pollfd dd = {dir, POLLIN, 0};
    CHECK(poll(&dd, 1, 0) == 1 && dd.revents == POLLIN);
    CHECK(close(fd) == 0 && close(ro) == 0 && close(dn) == 0 && close(dz) == 0 && close(dir) == 0);
    leave();
    return DONE();
}
