/* futex(2) directly: values, timeouts, wake counts, requeue, wake-op, bitsets, errors. */
#include "conf.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h>'s values (musl's headers do not carry it). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_BITSET_PRIVATE (FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP(op, oparg, cmp, cmparg)                                                      \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

static long fx(uint32_t *a, int op, uint32_t val, const void *t, uint32_t *a2, uint32_t v3) {
    return syscall(SYS_futex, a, op, val, t, a2, v3);
}

static uint32_t word, other;
static volatile int woke;

static void *waiter(void *arg) {
    uint32_t *w = arg;
    long r = fx(w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    if (r == 0)
        __atomic_add_fetch(&woke, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Wakes `n` waiters on `w` once they are all asleep: returns how many a single wake got. */
static long wake_when_waiting(uint32_t *w, int n) {
    struct timespec t = {0, 1000 * 1000};
    long got = 0;
    for (int i = 0; i < 5000 && got < n; i++) {
        got += fx(w, FUTEX_WAKE_PRIVATE, n - got, NULL, NULL, 0);
        nanosleep(&t, NULL);
    }
    return got;
}

int main(void) {
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    word = 1;
    ERR(fx(&word, FUTEX_WAIT, 0, NULL, NULL, 0), EAGAIN);
    ERR(fx(&word, FUTEX_WAIT_PRIVATE, 1, &ten_ms, NULL, 0), ETIMEDOUT);
    CHECK(fx(&word, FUTEX_WAKE, 5, NULL, NULL, 0) == 0);
    ERR(fx((uint32_t *)((char *)&word + 1), FUTEX_WAKE, 1, NULL, NULL, 0), EINVAL);
    ERR(fx(&word, FUTEX_WAIT_BITSET, 1, NULL, NULL, 0), EINVAL);
    ERR(fx((uint32_t *)8, FUTEX_WAIT, 1, NULL, NULL, 0), EFAULT);
    struct timespec bad = {0, 2000000000};
    ERR(fx(&word, FUTEX_WAIT, 1, &bad, NULL, 0), EINVAL);
    ERR(fx(&word, 99, 1, NULL, NULL, 0), ENOSYS);
    /* An absolute deadline already past, on either clock. */
    struct timespec past;
    clock_gettime(CLOCK_MONOTONIC, &past);
    ERR(fx(&word, FUTEX_WAIT_BITSET, 1, &past, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    clock_gettime(CLOCK_REALTIME, &past);
    ERR(fx(&word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 1, &past, NULL,
           FUTEX_BITSET_MATCH_ANY),
        ETIMEDOUT);
    ERR(fx(&word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS);

    /* One waiter, woken. */
    word = 0;
    pthread_t t[3];
    CHECK(pthread_create(&t[0], NULL, waiter, &word) == 0);
    CHECK(wake_when_waiting(&word, 1) == 1);
    CHECK(pthread_join(t[0], NULL) == 0);
    CHECK(woke == 1);

    /* Two waiters requeued to another word, then woken there. */
    CHECK(pthread_create(&t[0], NULL, waiter, &word) == 0);
    CHECK(pthread_create(&t[1], NULL, waiter, &word) == 0);
    struct timespec t1 = {0, 1000 * 1000};
    long moved = 0, mismatch = 1;
    for (int i = 0; i < 5000 && moved < 2; i++) {
        /* A word that does not hold the value given: EAGAIN, nothing moves. */
        long r = fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)2L, &other, 7);
        mismatch &= r == -1 && errno == EAGAIN;
        moved += fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)(long)(2 - moved), &other, 0);
        nanosleep(&t1, NULL);
    }
    CHECK(mismatch);
    CHECK(moved == 2);
    CHECK(fx(&word, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0) == 0);
    CHECK(fx(&other, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0) == 2);
    CHECK(pthread_join(t[0], NULL) == 0 && pthread_join(t[1], NULL) == 0);
    CHECK(woke == 3);

    /* WAKE_OP: other = 5 (SET), and its waiters are woken if the old value was > 1. */
    other = 3;
    CHECK(fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &other,
             FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_GT, 1)) == 0);
    CHECK(other == 5);
    CHECK(fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &other,
             FUTEX_OP(FUTEX_OP_ADD, 2, FUTEX_OP_CMP_EQ, 5)) == 0);
    CHECK(other == 7);
    ERR(fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &other, 0xf0000000u), ENOSYS);

    /* Bitsets: a waker whose bitset misses the waiter's wakes nobody. */
    word = 0;
    CHECK(pthread_create(&t[2], NULL, waiter, &word) == 0);
    /* FUTEX_WAIT is a bitset wait with every bit: any non-zero wake bitset meets it. */
    long got = 0;
    for (int i = 0; i < 5000 && !got; i++) {
        got = fx(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 4);
        nanosleep(&t1, NULL);
    }
    CHECK(got == 1);
    CHECK(pthread_join(t[2], NULL) == 0);
    ERR(fx(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0), EINVAL);
    return DONE();
}
