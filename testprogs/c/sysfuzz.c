/* Random syscalls with random arguments, for SECONDS seconds (default 10): children make the
 * calls (numbers 0..470 and a few beyond, arguments that are small integers, fds, lengths,
 * flags, or pointers to nowhere, to the stack, to read-only memory, to the kernel half), and
 * the parent starts a new child whenever one dies. Only calls that would end the whole run
 * or hang it are left out (exit, kill of others, fork/clone, execve, and sleeps are bounded
 * by an alarm). The monitor must survive all of it: the test runs a program afterwards.
 * Usage: sysfuzz [SECONDS] [SEED]. Prints "sysfuzz: done" and the counts on stderr.
 * Meant for a cluster: do not run it natively as root (the calls that change the machine
 * are left out, but it is still random calls as root). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;

static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static char scratch[8192];
static const char ro[64] = "read-only";

static uint64_t arg(void) {
    switch (next() % 12) {
    case 0: return 0;
    case 1: return next() % 8;                       /* small: fds, flags, signals */
    case 2: return next() % 4096;                    /* lengths */
    case 3: return (uint64_t)-1;
    case 4: return next();                           /* anything */
    case 5: return (uint64_t)scratch + next() % 4096; /* writable memory */
    case 6: return (uint64_t)ro;                     /* read-only memory */
    case 7: return 0xffff800000000000ull + next() % 4096; /* the kernel half */
    case 8: return 0x100000000000ull + (next() % 1024) * 4096; /* unmapped */
    case 9: return 1ull << (next() % 64);
    case 10: return (uint64_t)"sysfuzz.dir/f";      /* a path */
    default: return next() & 0xffffffff;
    }
}

/* Calls that end or replace the process, reach other processes, or multiply. */
static int excluded(long n) {
    switch (n) {
    case SYS_exit: case SYS_exit_group: case SYS_kill: case SYS_tkill: case SYS_tgkill:
    case SYS_fork: case SYS_vfork: case SYS_clone: case SYS_clone3: case SYS_execve:
    case SYS_execveat: case SYS_rt_sigreturn: case SYS_setsid: case SYS_setpgid:
    case SYS_rt_sigqueueinfo: case SYS_rt_tgsigqueueinfo: case SYS_reboot:
    case SYS_pidfd_send_signal: case SYS_ptrace: case SYS_process_vm_writev:
    /* and, should it run natively, what would change the machine */
    case SYS_settimeofday: case SYS_clock_settime: case SYS_clock_adjtime: case SYS_adjtimex:
    case SYS_sethostname: case SYS_setdomainname: case SYS_mount: case SYS_umount2:
    case SYS_swapon: case SYS_swapoff: case SYS_init_module: case SYS_finit_module:
    case SYS_delete_module: case SYS_kexec_load: case SYS_kexec_file_load: case SYS_chroot:
    case SYS_pivot_root: case SYS_acct: case SYS_quotactl: case SYS_iopl: case SYS_ioperm:
    case SYS_syslog: case SYS_perf_event_open: case SYS_bpf: case SYS_unshare: case SYS_setns:
    case SYS_sync: case SYS_syncfs: case SYS_vhangup: case SYS_mknod: case SYS_mknodat:
        return 1;
    default:
        return 0;
    }
}

static void child(unsigned seed, long *calls) {
    rng = 0x9e3779b97f4a7c15ull ^ seed;
    /* Random writes go nowhere rather than into the run's output. */
    int null = open("/dev/null", 2);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    alarm(1); /* a call that sleeps ends the child (unless it blocked SIGALRM: see main) */
    for (long i = 0; i < 20000; i++) {
        long n = (long)(next() % 480);
        if (excluded(n))
            continue;
        syscall(n, arg(), arg(), arg(), arg(), arg(), arg());
        (*calls)++;
    }
}

int main(int argc, char **argv) {
    int secs = argc > 1 ? atoi(argv[1]) : 10;
    unsigned seed = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
    time_t end = time(NULL) + secs;
    long children = 0, died = 0;
    while (time(NULL) < end) {
        pid_t c = fork();
        if (c < 0) {
            struct timespec t = {0, 10 * 1000 * 1000};
            nanosleep(&t, NULL);
            continue;
        }
        if (c == 0) {
            long calls = 0;
            child(seed + (unsigned)children * 7919u, &calls);
            _exit(0);
        }
        children++;
        /* A child that blocked or cancelled its alarm and sleeps is killed after 2 s. */
        int st = 0;
        struct timespec tick = {0, 10 * 1000 * 1000};
        int waited = 0;
        while (waitpid(c, &st, WNOHANG) == 0) {
            if (++waited == 200)
                kill(c, SIGKILL);
            nanosleep(&tick, NULL);
        }
        died += WIFSIGNALED(st);
    }
    fprintf(stderr, "sysfuzz: %ld children, %ld ended by a signal\n", children, died);
    printf("sysfuzz: done\n");
    return 0;
}
