/* The first thread ends with pthread_exit while the others go on; the process's status is
 * the last thread's exit. */
#include "conf.h"
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_t first;

static void *last(void *arg) {
    (void)arg;
    void *r;
    /* Joining the ended first thread works (its tid word was cleared). */
    int j = pthread_join(first, &r);
    SAY("joined first: %d %ld", j, (long)r);
    struct timespec t = {0, 5 * 1000 * 1000};
    nanosleep(&t, NULL);
    SAY("last thread exits the process");
    fflush(stdout);
    exit(3);
}

int main(void) {
    first = pthread_self();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, last, NULL) == 0);
    SAY("first thread leaves");
    pthread_exit((void *)17);
}
