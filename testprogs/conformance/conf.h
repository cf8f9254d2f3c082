/* The conformance suite's checks. Each program is run natively and on a cluster and their
 * outputs and exit statuses compared, so every line must be the same on both: print what was
 * checked, never addresses, pids, times or sizes that differ between machines.
 *
 *   CHECK(expr)        prints "ok LINE: expr" or "FAIL LINE: expr (errno N NAME)"
 *   ERR(call, E)       checks that call returns -1 with errno E
 *   SAY(fmt, ...)      prints a line (for values that must match)
 *   return DONE();     exit status: 0, or 1 if a check failed
 *
 * stdout is line-buffered, so what was printed before a crash is kept. */
#ifndef CONF_H
#define CONF_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int conf_fails;

__attribute__((constructor)) static void conf_init(void) { setvbuf(stdout, 0, _IOLBF, 0); }

#define CHECK(c)                                                                             \
    do {                                                                                     \
        errno = 0;                                                                           \
        int ok_ = !!(c);                                                                     \
        int e_ = errno;                                                                      \
        if (ok_)                                                                             \
            printf("ok %d: %s\n", __LINE__, #c);                                             \
        else                                                                                 \
            printf("FAIL %d: %s (errno %d %s)\n", __LINE__, #c, e_, strerror(e_));           \
        conf_fails += !ok_;                                                                  \
    } while (0)

#define ERR(call, e) CHECK((call) == -1 && errno == (e))

#define SAY(...)                                                                             \
    do {                                                                                     \
        printf(__VA_ARGS__);                                                                 \
        printf("\n");                                                                        \
    } while (0)

#define DONE() (conf_fails ? 1 : 0)

#endif
