/* Writes through a wild pointer: SIGSEGV. Usage: wild [ADDRESS] (hex). */
#include <stdlib.h>
int main(int argc, char **argv) {
    volatile unsigned long *p = (unsigned long *)(argc > 1 ? strtoull(argv[1], 0, 16) : 0xdead0000UL);
    if (argc > 2) return (int)*p; /* a read */
    *p = 1;
    return 0;
}
