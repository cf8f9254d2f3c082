/* Prints a line and exits with the number of arguments (a test of output and status). */
#include <stdio.h>
int main(int argc, char **argv) {
    printf("hello from lego, argc=%d argv0=%s\n", argc, argv[0]);
    return argc;
}
