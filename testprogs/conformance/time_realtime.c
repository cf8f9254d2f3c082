/* CLOCK_REALTIME, gettimeofday and time() agree; nanoseconds in range; REALTIME_COARSE close. */
#include "conf.h"
#include <sys/time.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    struct timespec ts, tc;
    struct timeval tv;
    CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
    CHECK(ts.tv_sec > 1600000000); /* after 2020 */
    CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
    CHECK(gettimeofday(&tv, NULL) == 0);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK(tv.tv_sec >= ts.tv_sec && tv.tv_sec - ts.tv_sec <= 1);
    time_t t1 = time(NULL), t2 = 0;
    CHECK(t1 >= tv.tv_sec && t1 - tv.tv_sec <= 1);
    CHECK(time(&t2) >= t1 && t2 >= t1 && t2 - t1 <= 1);
    struct timezone tz;
    CHECK(gettimeofday(&tv, &tz) == 0);
    CHECK(syscall(SYS_gettimeofday, 0, 0) == 0);
    CHECK(clock_gettime(CLOCK_REALTIME_COARSE, &tc) == 0);
    CHECK(tc.tv_nsec >= 0 && tc.tv_nsec < 1000000000);
    CHECK(tc.tv_sec >= ts.tv_sec - 1 && tc.tv_sec <= ts.tv_sec + 2);
    /* consecutive REALTIME reads are ordered (no clock steps expected during the test) */
    struct timespec a, b;
    int ordered = 1;
    for (int i = 0; i < 100; i++) {
        clock_gettime(CLOCK_REALTIME, &a);
        clock_gettime(CLOCK_REALTIME, &b);
        if (b.tv_sec < a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec < a.tv_nsec)) ordered = 0;
    }
    CHECK(ordered);
    CHECK(clock_gettime(CLOCK_TAI, &a) == 0);
    CHECK(a.tv_sec >= ts.tv_sec && a.tv_sec - ts.tv_sec <= 60); /* TAI = UTC + leap seconds */
    return DONE();
}
