/* Writes a line forever (or until its output goes away). */
#include <stdio.h>
int main(void) {
    for (;;) if (puts("y") == EOF) return 1;
}
