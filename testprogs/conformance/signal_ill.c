/* SIGILL from ud2 (ILL_ILLOPN at the instruction), SIGTRAP from int3 (handler returns past it), SIGSEGV from a privileged hlt. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int sig, code, calls;
static void *volatile addr;
static void h(int s, siginfo_t *si, void *uc) {
    (void)uc;
    sig = s;
    code = si->si_code;
    addr = si->si_addr;
    calls++;
    if (s != SIGTRAP) siglongjmp(jb, 1);
}

extern char ud2_insn[], hlt_insn[];
__attribute__((noipa)) static void ud2(void) { asm volatile(".globl ud2_insn\nud2_insn: ud2"); }
__attribute__((noipa)) static void hlt(void) { asm volatile(".globl hlt_insn\nhlt_insn: hlt"); }

static int faults(void (*fn)(void)) {
    sig = code = 0;
    addr = (void *)-1;
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
    CHECK(sigaction(SIGILL, &sa, NULL) == 0);
    CHECK(sigaction(SIGTRAP, &sa, NULL) == 0);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    CHECK(faults(ud2));
    CHECK(sig == SIGILL && code == ILL_ILLOPN);
    CHECK(addr == (void *)ud2_insn);
    CHECK(faults(ud2)); /* again: the handler is still installed */
    CHECK(sig == SIGILL && calls == 2);
    /* int3 is a trap: execution continues after it once the handler returns */
    sig = 0;
    asm volatile("int3");
    CHECK(sig == SIGTRAP && code == SI_KERNEL);
    CHECK(calls == 3);
    /* hlt in user mode is a general protection fault */
    CHECK(faults(hlt));
    CHECK(sig == SIGSEGV && code == SI_KERNEL && addr == NULL);
    (void)hlt_insn;
    CHECK(calls == 4);
    return DONE();
}
