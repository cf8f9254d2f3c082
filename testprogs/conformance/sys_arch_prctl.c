/* arch_prctl: ARCH_GET_FS is the thread pointer stored at %fs:0, TLS variables sit just below it; bad codes EINVAL. */
#include "conf.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#define ARCH_SET_FS 0x1002 /* <asm/prctl.h> is not in musl's include path */
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

static __thread int tls_var = 42;

int main(void) {
    unsigned long fs = 0, gs = 1;
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0);
    CHECK(fs != 0);
    unsigned long self;
    asm volatile("mov %%fs:0, %0" : "=r"(self));
    CHECK(self == fs);
    CHECK(tls_var == 42);
    uintptr_t tv = (uintptr_t)&tls_var;
    CHECK(tv < fs && fs - tv < 4096);
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs) == 0);
    /* setting FS to its own value is harmless */
    CHECK(syscall(SYS_arch_prctl, ARCH_SET_FS, fs) == 0);
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &self) == 0 && self == fs);
    tls_var++;
    CHECK(tls_var == 43);
    ERR(syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL);
    ERR(syscall(SYS_arch_prctl, ARCH_SET_FS, 0x8000000000000000UL), EPERM);
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &self) == 0 && self == fs);
    return DONE();
}
