/* seccomp user notification: the launcher that installs a filter notifying on
 * chosen syscalls (`aftershock __seccomp-exec SOCKFD SYSCALLS -- ARGV`: the
 * listener fd goes back to the harness over a unix socket with SCM_RIGHTS, then
 * the launcher execs the service, keeping the filter), and the harness side:
 * listeners on the event loop that answer every notification. Without a policy
 * a call continues (SECCOMP_USER_NOTIF_FLAG_CONTINUE); policies registered for
 * a listener's tag (a service name) may fail it with an errno or delay it on a
 * timer, never blocking the loop. Removing a policy or closing a listener
 * continues every call still pending, so no target is left blocked. */
#ifndef ASH_SYS_SECCOMP_NOTIFY_H
#define ASH_SYS_SECCOMP_NOTIFY_H

#include <aftershock/aftershock.h> /* ash_error_t; the public entry points this file defines */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sys/loop.h"

struct ash_seccomp_listener;

/* Executable that understands `__seccomp-exec` (default /proc/self/exe). */
void ash_seccomp_set_exe(const char *path);

/* Wrapping a command with the launcher. syscalls: comma-separated names. */
struct ash_seccomp_launch {
    int parent_fd, child_fd; /* socketpair; child_fd is inherited across exec by the launcher */
    char **argv;             /* launcher argv (malloc'd, strings borrowed except the ones it made) */
    char fdbuf[16];
    char list[256]; /* the syscalls, copied */
};
int ash_seccomp_launch_prepare(const char *syscalls, char *const *argv, struct ash_seccomp_launch *l, ash_error_t *err);
/* After the spawn: close the child's end, receive the listener fd (waits at most
 * timeout_ns) and watch it on the loop under `tag`. */
int ash_seccomp_launch_finish(struct ash_seccomp_launch *l, ash_loop *loop, const char *tag, int64_t timeout_ns,
                              struct ash_seccomp_listener **out, ash_error_t *err);
void ash_seccomp_launch_cleanup(struct ash_seccomp_launch *l);

/* Watch a listener fd (taken over) on the loop. */
int ash_seccomp_listen(ash_loop *loop, int fd, const char *tag, struct ash_seccomp_listener **out, ash_error_t *err);
int ash_seccomp_listener_fd(const struct ash_seccomp_listener *l);
/* Continue every pending call, stop watching, close the fd. NULL is fine. */
void ash_seccomp_listener_close(struct ash_seccomp_listener *l);
/* Calls received / answered with an errno / delayed, since the listener opened. */
void ash_seccomp_listener_counts(const struct ash_seccomp_listener *l, uint64_t *seen, uint64_t *failed,
                                 uint64_t *delayed);

/* One notified call, as a policy sees it. */
struct ash_seccomp_call {
    int listener_fd;
    uint64_t id;
    pid_t pid;
    int nr;
    uint64_t args[6];
};

/* ASH_SC_RETURN: the call returns `val` without running (brk: 0 tells glibc it failed). */
enum ash_seccomp_verdict { ASH_SC_CONTINUE, ASH_SC_ERRNO, ASH_SC_DELAY, ASH_SC_RETURN };
struct ash_seccomp_decision {
    enum ash_seccomp_verdict verdict;
    int error;        /* ASH_SC_ERRNO */
    int64_t delay_ns; /* ASH_SC_DELAY: then continue */
    int64_t val;      /* ASH_SC_RETURN */
};

typedef void (*ash_seccomp_policy_fn)(void *arg, const struct ash_seccomp_call *c, struct ash_seccomp_decision *d);
/* Register for every listener (current and future) tagged `tag`. */
int ash_seccomp_policy_add(const char *tag, ash_seccomp_policy_fn fn, void *arg, ash_error_t *err);
/* Unregister; delayed calls it decided are continued now. */
void ash_seccomp_policy_remove(ash_seccomp_policy_fn fn, void *arg);
/* Policies registered for tag (a fault in effect has one; none is left after its revert). */
size_t ash_seccomp_policies(const char *tag);
/* Listeners currently watched under tag. */
size_t ash_seccomp_listeners(const char *tag);

/* Policy helpers. Read a NUL-terminated string of the target at addr (a path
 * argument) through /proc/PID/mem, checking the notification is still valid
 * before and after (so the pid was not reused). -1 when gone or unreadable. */
int ash_seccomp_read_string(const struct ash_seccomp_call *c, uint64_t addr, char *buf, size_t len);
/* readlink /proc/PID/fd/N, with the same validity checks. */
int ash_seccomp_fd_path(const struct ash_seccomp_call *c, int fd, char *buf, size_t len);

/* The target's program break as the kernel has it mapped (the end of its
 * [heap], page-aligned; the start of the heap when it never grew), with the
 * same validity checks: what a failed brk returns. -1 when gone. */
int ash_seccomp_brk(const struct ash_seccomp_call *c, uint64_t *out);

/* Syscall name <-> number on this architecture (-1 / NULL when unknown). */
int ash_syscall_nr(const char *name);
/* "EIO" -> 5; -1 when unknown. */
int ash_errno_parse(const char *name);

/* ash_seccomp_exec_main, the body of `aftershock __seccomp-exec`, is public (<aftershock/aftershock.h>). */

#endif
