/* Process mechanisms: spawn with captured output, pidfds, identity checks, signals. */
#ifndef ASH_SYS_PROC_H
#define ASH_SYS_PROC_H

#include <aftershock/error.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ash_spawn_opts {
    char *const *argv;
    char *const *envp_extra; /* NULL-terminated "K=V" added to the environment; may be NULL */
    const char *cwd;
    int stdin_fd;         /* -1: /dev/null */
    int stdout_fd;        /* -1: /dev/null */
    int stderr_fd;        /* -1: /dev/null; may equal stdout_fd */
    bool new_pgroup;      /* setpgid(0,0): signals can reach the whole group */
    bool die_with_parent; /* PR_SET_PDEATHSIG SIGKILL (helpers only, never services) */
    bool no_common_env;   /* leave out ash_spawn_set_common_env's variable (the guardian) */
    /* Runs in the child after fork, before exec. Must be async-signal-safe
     * (no malloc): the parent may have other threads (libcurl's resolver). */
    int (*pre_exec)(void *arg);
    void *pre_exec_arg;
};

struct ash_child {
    pid_t pid;
    int pidfd;      /* readable when the child exits */
    uint64_t start; /* /proc/pid/stat starttime: identity against pid reuse */
};

/* Spawn argv. The child's environment: envp_extra, then the common variable,
 * then this process's own, the first of each name winning (getenv's rule). */
int ash_spawn(const struct ash_spawn_opts *o, struct ash_child *out, ash_error_t *err);
/* "K=V" every child spawned from now on gets (ASH_RUN_ID=...: the run's
 * commands can tell which run started them); NULL: none. Process-wide: one
 * run at a time. */
void ash_spawn_set_common_env(const char *kv);
/* Run argv to completion in its own process group, output to /dev/null, waiting
 * at most timeout_ns (the group is killed after that). 0 when it exited 0; else
 * -1 with "'cmd' failed (exited 1)" / "'cmd' did not finish within N ms". Blocks. */
int ash_run_command(char *const *argv, int64_t timeout_ns, ash_error_t *err);
/* Same, with stdout and stderr to out_fd (-1: /dev/null). */
int ash_run_command_out(char *const *argv, int64_t timeout_ns, int out_fd, ash_error_t *err);
/* Reap (non-blocking); returns 1 with the wait status when exited, 0 if still running. */
int ash_child_reap(struct ash_child *c, int *status);
/* Kill and reap synchronously (SIGTERM, then SIGKILL after grace_ns; whole group if pgroup). */
void ash_child_terminate(struct ash_child *c, int64_t grace_ns, bool pgroup);
void ash_child_close(struct ash_child *c);

int ash_pidfd_open(pid_t pid);
int ash_pidfd_signal(int pidfd, int sig);
/* starttime field of /proc/PID/stat (clock ticks since boot); 0 if the process is gone. */
uint64_t ash_proc_start_time(pid_t pid);
/* Signal pid only if it is still the same process (start time matches). Returns 0,
 * or -1 with errno ESRCH when gone or replaced, EINVAL when start is 0 (unknown). */
int ash_proc_signal_checked(pid_t pid, uint64_t start, int sig);
/* 'R', 'S', 'T' (stopped), 'Z', ... or 0 when gone. */
char ash_proc_state(pid_t pid);
/* "SIGKILL"/"KILL"/"9" -> 9; -1 if unknown. */
int ash_signal_parse(const char *name);
const char *ash_signal_name(int sig);
/* Describe a wait status: "exited 1", "killed by SIGKILL". */
void ash_wait_status_str(int status, char *buf, size_t len);

#endif
