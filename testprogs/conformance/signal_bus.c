/* SIGBUS: touching a file mapping past the end of the file (BUS_ADRERR, si_addr exact), and after the file shrinks. */
#include "conf.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int sig, code;
static void *volatile addr;
static void h(int s, siginfo_t *si, void *uc) {
    (void)uc;
    sig = s;
    code = si->si_code;
    addr = si->si_addr;
    siglongjmp(jb, 1);
}
static volatile char sink;
static void rd(void *p) { sink = *(volatile char *)p; }
static void wr(void *p) { *(volatile char *)p = 'w'; }
static int faults(void (*fn)(void *), void *p) {
    sig = code = 0;
    addr = NULL;
    if (sigsetjmp(jb, 1) == 0) {
        fn(p);
        return 0;
    }
    return 1;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGBUS, &sa, NULL) == 0);
    CHECK(mkdir("signal_bus.d", 0755) == 0);
    int fd = open("signal_bus.d/f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    char buf[100];
    memset(buf, 'a', sizeof buf);
    CHECK(write(fd, buf, sizeof buf) == 100);
    char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(!faults(rd, p + 50) && sink == 'a');
    CHECK(!faults(rd, p + 4095) && sink == 0); /* rest of the last page reads as zeros */
    CHECK(faults(rd, p + 4096));
    CHECK(sig == SIGBUS && code == BUS_ADRERR);
    CHECK(addr == p + 4096);
    CHECK(faults(wr, p + 2 * 4096 + 7));
    CHECK(sig == SIGBUS && code == BUS_ADRERR && addr == p + 2 * 4096 + 7);
    /* grow the file: the page becomes accessible */
    CHECK(ftruncate(fd, 8192) == 0);
    CHECK(!faults(wr, p + 4096 + 1));
    char c = 0;
    CHECK(pread(fd, &c, 1, 4097) == 1 && c == 'w');
    /* shrink it: even the first page goes away */
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(faults(rd, p + 50));
    CHECK(sig == SIGBUS && addr == p + 50);
    CHECK(munmap(p, 3 * 4096) == 0);
    CHECK(close(fd) == 0);
    CHECK(unlink("signal_bus.d/f") == 0);
    CHECK(rmdir("signal_bus.d") == 0);
    return DONE();
}
