/* Test helper: a process blocked in a seccomp user notification nobody answers
 * (what a syscall fault left unreverted looks like), for leftovers_selftest.sh.
 * Prints "held PID" (the blocked child) and then waits, holding the listener;
 * killing this process closes the listener, and the child's call fails and it exits. */
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

int main(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0) < 0 || seccomp_load(ctx) < 0) {
        fprintf(stderr, "ash_seccomp_hold: cannot load a notify filter\n");
        return 1;
    }
    int fd = seccomp_notify_fd(ctx);
    if (fd < 0) {
        fprintf(stderr, "ash_seccomp_hold: no listener fd\n");
        return 1;
    }
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(fd);
        return (int)getppid() < 0; /* blocks until the listener goes away */
    }
    printf("held %d\n", (int)child);
    fflush(stdout);
    for (;;)
        pause();
}
