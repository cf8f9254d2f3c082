/* SIGFPE from integer division by zero and INT_MIN/-1: si_code FPE_INTDIV, si_addr is the dividing instruction; float division does not trap. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
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

extern char div0_insn[], ovf_insn[], div64_insn[];
__attribute__((noipa)) static void div0(void) {
    asm volatile("xor %%eax, %%eax\n xor %%edx, %%edx\n xor %%ecx, %%ecx\n"
                 ".globl div0_insn\ndiv0_insn: divl %%ecx" ::: "eax", "ecx", "edx", "cc");
}
__attribute__((noipa)) static void ovf(void) {
    asm volatile("mov $0x80000000, %%eax\n cltd\n mov $-1, %%ecx\n"
                 ".globl ovf_insn\novf_insn: idivl %%ecx" ::: "eax", "ecx", "edx", "cc");
}
__attribute__((noipa)) static void div64(void) {
    asm volatile("mov $1, %%eax\n mov $5, %%edx\n mov $3, %%ecx\n" /* quotient does not fit: #DE */
                 ".globl div64_insn\ndiv64_insn: divq %%rcx" ::: "eax", "ecx", "edx", "cc");
}

static int faults(void (*fn)(void)) {
    sig = code = 0;
    addr = NULL;
    if (sigsetjmp(jb, 1) == 0) {
        fn();
        return 0;
    }
    return 1;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGFPE, &sa, NULL) == 0);
    CHECK(faults(div0));
    CHECK(sig == SIGFPE && code == FPE_INTDIV);
    CHECK(addr == (void *)div0_insn);
    CHECK(faults(ovf));
    CHECK(sig == SIGFPE && code == FPE_INTDIV);
    CHECK(addr == (void *)ovf_insn);
    CHECK(faults(div64));
    CHECK(sig == SIGFPE && code == FPE_INTDIV && addr == (void *)div64_insn);
    volatile int a = 7, b = 0;
    if (sigsetjmp(jb, 1) == 0) {
        a = a / b;
        CHECK(!"no signal");
    }
    CHECK(sig == SIGFPE && code == FPE_INTDIV);
    volatile double x = 1.0, y = 0.0;
    sig = 0;
    double r = x / y;
    CHECK(sig == 0 && r > 1e308);
    /* a sent SIGFPE is not a fault: si_code SI_TKILL */
    sig = code = 0;
    if (sigsetjmp(jb, 1) == 0) {
        raise(SIGFPE);
        CHECK(!"handler returned");
    }
    CHECK(sig == SIGFPE && code == SI_TKILL);
    return DONE();
}
