/* Echoes argv, envp and the auxiliary vector's values a C library relies on. */
#include <stdio.h>
#include <string.h>
#include <elf.h>
#include <sys/auxv.h>
extern char **environ;
int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e; e++) printf("env=%s\n", *e);
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    printf("AT_PHNUM_nonzero=%d\n", getauxval(AT_PHNUM) != 0);
    printf("AT_ENTRY_nonzero=%d\n", getauxval(AT_ENTRY) != 0);
    printf("AT_RANDOM_nonzero=%d\n", getauxval(AT_RANDOM) != 0);
    printf("AT_UID=%lu AT_EUID=%lu AT_GID=%lu AT_EGID=%lu AT_SECURE=%lu\n", getauxval(AT_UID),
           getauxval(AT_EUID), getauxval(AT_GID), getauxval(AT_EGID), getauxval(AT_SECURE));
    const char *fn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN=%s\n", fn ? fn : "(none)");
    return 0;
}
