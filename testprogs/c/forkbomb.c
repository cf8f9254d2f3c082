/* Forks children that wait (up to 1000) until fork fails; prints how many and why, then
 * kills and reaps them all. A fork bomb must meet the pComponent's process limit (EAGAIN),
 * and the cluster must carry on. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    static pid_t kids[1000];
    int made = 0, why = 0;
    for (int i = 0; i < 1000; i++) {
        pid_t c = fork();
        if (c == 0) {
            pause();
            _exit(0);
        }
        if (c < 0) {
            why = errno;
            break;
        }
        kids[made++] = c;
    }
    for (int i = 0; i < made; i++) kill(kids[i], SIGKILL);
    int reaped = 0;
    while (wait(NULL) > 0) reaped++;
    printf("forked %d, then %s; reaped %d\n", made, why ? strerror(why) : "no error", reaped);
    return why == EAGAIN && reaped == made ? 0 : 1;
}
