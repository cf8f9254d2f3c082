/* Reads (or writes, with a second argument) a monitor address: must die with SIGSEGV. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    volatile unsigned long *p = (unsigned long *)(argc > 1 ? strtoull(argv[1], 0, 16) : 0xffffffff80200000UL);
    if (argc > 2) { *p = 0x41414141; printf("wrote the monitor's memory\n"); return 0; }
    printf("read the monitor's memory: %lx\n", *p);
    return 0;
}
