/* Thread ids: gettid, getpid in threads, set_tid_address, tgkill/tkill, robust list heads. */
#include "conf.h"
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t tids[4];
static pid_t pids[4];

static void *who(void *arg) {
    long k = (long)arg;
    tids[k] = (pid_t)syscall(SYS_gettid);
    pids[k] = getpid();
    return NULL;
}

int main(void) {
    pid_t me = getpid();
    CHECK(syscall(SYS_gettid) == me);
    pthread_t t[4];
    for (long k = 0; k < 4; k++)
        CHECK(pthread_create(&t[k], NULL, who, (void *)k) == 0);
    for (int k = 0; k < 4; k++)
        CHECK(pthread_join(t[k], NULL) == 0);
    int distinct = 1;
    for (int k = 0; k < 4; k++) {
        CHECK(pids[k] == me);
        CHECK(tids[k] > 0 && tids[k] != me);
        for (int j = 0; j < k; j++)
            distinct &= tids[j] != tids[k];
    }
    CHECK(distinct);
    CHECK(getppid() > 0);

    CHECK(syscall(SYS_set_tid_address, NULL) == me);
    CHECK(syscall(SYS_tgkill, me, me, 0) == 0);
    CHECK(syscall(SYS_tkill, me, 0) == 0);
    /* (A joined thread's id may still answer for a moment natively: not checked.) */
    ERR(syscall(SYS_tgkill, me, 0x3ffffff0, 0), ESRCH);
    ERR(syscall(SYS_tgkill, -1, me, 0), EINVAL);
    ERR(syscall(SYS_tgkill, me, 0, 0), EINVAL);
    ERR(syscall(SYS_tkill, -5, 0), EINVAL);
    ERR(syscall(SYS_tgkill, me, me, 999), EINVAL);

    /* A robust list head of our own (an empty circular list). */
    static struct {
        void *next;
        long offset;
        void *pending;
    } mine = {&mine, 0, 0};
    CHECK(syscall(SYS_set_robust_list, &mine, 24) == 0);
    void *head = 0;
    size_t len = 0;
    CHECK(syscall(SYS_get_robust_list, 0, &head, &len) == 0);
    CHECK(head == (void *)&mine && len == 24);
    ERR(syscall(SYS_set_robust_list, &mine, 23), EINVAL);
    ERR(syscall(SYS_get_robust_list, 0, (void *)8, &len), EFAULT);
    return DONE();
}
