/* cgroup mechanisms for v2 (unified), v1 (legacy) and hybrid layouts: create,
 * join, limits, freeze, kill, destroy. No policy: callers decide names and values.
 *
 * The layout is detected once (statfs of the cgroup root) into struct
 * ash_cgroup_sys; everything after that works on plain paths, so tests can
 * run both the v2 and the v1 logic against fixture directories in a temp dir
 * (ash_cgroup_layout) and undo records can rebuild a handle from the paths
 * alone (ash_cgroup_from_json). */
#ifndef ASH_SYS_CGROUP_H
#define ASH_SYS_CGROUP_H

#include <aftershock/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define ASH_CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"

enum ash_cgroup_mode {
    ASH_CGROUP_UNIFIED, /* only v2, at root */
    ASH_CGROUP_HYBRID,  /* v1 controllers at root/<ctrl>, v2 (no controllers or few) at root/unified */
    ASH_CGROUP_LEGACY,  /* only v1 */
};

/* Where each mechanism lives on this machine ("" = not available). */
struct ash_cgroup_sys {
    enum ash_cgroup_mode mode;
    char root[256];
    char v2[256];      /* the v2 hierarchy (root or root/unified) */
    char memory[256];  /* hierarchy that has the memory controller (v2 or v1) */
    char cpu[256];     /* hierarchy that has the cpu controller */
    char freezer[256]; /* v1 freezer hierarchy when mounted (cgroups use it only without v2) */
    bool memory_v1, cpu_v1;
};

/* Detect the mode of `root` (NULL: /sys/fs/cgroup) by statfs and fill sys. */
int ash_cgroup_detect(const char *root, struct ash_cgroup_sys *sys, ash_error_t *err);
/* Fill sys for a given mode without statfs (tests with fixture directories):
 * controllers are taken as present when their directory (v1) or their name in
 * cgroup.controllers (v2) exists. */
int ash_cgroup_layout(const char *root, enum ash_cgroup_mode mode, struct ash_cgroup_sys *sys, ash_error_t *err);
const char *ash_cgroup_mode_name(enum ash_cgroup_mode mode);

/* One logical cgroup, present in up to four hierarchies. Paths are absolute
 * ("" = not used). On hybrid, processes join the v2 one (freeze, kill) and the
 * v1 memory/cpu ones (limits). */
struct ash_cgroup {
    char v2[512];
    char memory[512];    /* v1 memory dir, or "" when memory is handled in v2 */
    char cpu[512];       /* v1 cpu dir, or "" */
    char freezer[512];   /* v1 freezer dir (only without v2), or "" */
    bool mem_v2, cpu_v2; /* limits go to v2 files of `v2` */
    int procs_fd[4];     /* pre-opened cgroup.procs (ash_cgroup_open_procs); -1 */
    int n_procs_fd;
};

/* Compute the paths of `rel` ("ash-run/host") without touching anything. */
void ash_cgroup_init(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, const char *rel, bool want_cpu);
/* mkdir every directory (parents too); on v2 also enables the memory/cpu
 * controllers for children of the parents when they are needed. */
int ash_cgroup_create(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, const char *rel, bool want_cpu,
                      ash_error_t *err);
/* An existing cgroup `rel` (below each hierarchy's root): the directories of it that
 * exist, in every hierarchy of sys (the v1 freezer too, even with v2 present). ENOENT
 * when it exists in none. Nothing is created. */
int ash_cgroup_existing(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, const char *rel, ash_error_t *err);
/* The cgroup a process is in, from the text of /proc/PID/cgroup ("ID:CONTROLLERS:PATH"
 * lines): v2 from the "0::" line, v1 memory/cpu/freezer from theirs, mapped onto the
 * hierarchies of sys. Paths are taken as they are; whether each is the process's own
 * (a container's, not its runtime's) is the caller's policy. */
int ash_cgroup_parse_proc(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, const char *text, ash_error_t *err);
/* Same, reading /proc/PID/cgroup. ESRCH when the process is gone. */
int ash_cgroup_of_pid(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, pid_t pid, ash_error_t *err);
/* The path of dir below its hierarchy's root in sys ("docker/abc"), or NULL. */
const char *ash_cgroup_rel(const struct ash_cgroup_sys *sys, const char *dir);

/* The paths as JSON (for an undo record) and back. */
json_t *ash_cgroup_to_json(const struct ash_cgroup *cg);
int ash_cgroup_from_json(json_t *j, struct ash_cgroup *cg, ash_error_t *err);

/* Move pid into every hierarchy of cg. */
int ash_cgroup_join(const struct ash_cgroup *cg, pid_t pid, ash_error_t *err);
/* Open cgroup.procs of every hierarchy for ash_cgroup_join_self (O_CLOEXEC). */
int ash_cgroup_open_procs(struct ash_cgroup *cg, ash_error_t *err);
void ash_cgroup_close_procs(struct ash_cgroup *cg);
/* Async-signal-safe: write "0" to the pre-opened fds (for a child before exec). */
int ash_cgroup_join_self(const struct ash_cgroup *cg);

/* A saved limit, restorable exactly. */
struct ash_cgroup_saved {
    char file[600]; /* absolute path of the file written */
    char value[64]; /* its content before the change */
};

/* bytes == UINT64_MAX: unlimited. v2: memory.max (and memory.high when `high`);
 * v1: memory.limit_in_bytes. old (optional) receives what it was. */
int ash_cgroup_set_memory(const struct ash_cgroup *cg, uint64_t bytes, struct ash_cgroup_saved *old, ash_error_t *err);
/* cores <= 0: unlimited. v2 cpu.max "quota period"; v1 cpu.cfs_quota_us (period read from cfs_period_us). */
int ash_cgroup_set_cpu(const struct ash_cgroup *cg, double cores, struct ash_cgroup_saved *old, ash_error_t *err);
int ash_cgroup_restore(const struct ash_cgroup_saved *saved, ash_error_t *err);

/* The memory files, for callers that journal a value before they change it (the
 * memory-exhaustion fault). The v1/v2 names are picked here, from cg->mem_v2. */
enum ash_cgroup_mem_file {
    ASH_CG_MEM_LIMIT, /* v2 memory.max; v1 memory.limit_in_bytes */
    ASH_CG_MEM_SWAP,  /* v2 memory.swap.max; v1 memory.memsw.limit_in_bytes */
};
/* The directory that holds cg's memory files (v2 or v1 memory), "" without one. */
const char *ash_cgroup_memory_dir(const struct ash_cgroup *cg);
/* path = that file of cg; -1 (ENOTSUP, path "") without a memory directory. */
int ash_cgroup_memory_file(const struct ash_cgroup *cg, enum ash_cgroup_mem_file which, char *path, size_t len);
/* What forbids swap: set->file and set->value to write (v2 memory.swap.max "0"; v1
 * memory.memsw.limit_in_bytes = the memory limit in effect, read now). 1, with
 * set->file named, when that file is absent: the kernel keeps no swap
 * accounting (v1 without swapaccount, v2 without CONFIG_MEMCG_SWAP), so there
 * is nothing to write and swap cannot be forbidden. */
int ash_cgroup_swap_off(const struct ash_cgroup *cg, struct ash_cgroup_saved *set, ash_error_t *err);
/* Read file's current value into saved (file too), to journal before changing it. */
int ash_cgroup_save(const char *file, struct ash_cgroup_saved *saved, ash_error_t *err);
/* Write value to a limit file. v1 refuses a limit below usage it cannot reclaim
 * (EBUSY; v2 OOM-kills instead): usually a burst in flight, gone within
 * milliseconds, so EBUSY is retried for up to busy_ns. */
int ash_cgroup_write_limit(const char *file, const char *value, int64_t busy_ns, ash_error_t *err);
/* Raise the memory limit to bytes; on v1 the memory+swap limit first when it is
 * lower (it must stay at or above the memory limit). old (optional): the limit
 * before, as the file said it. */
int ash_cgroup_raise_memory(const struct ash_cgroup *cg, uint64_t bytes, char *old, size_t old_len, ash_error_t *err);
/* Move pid into one hierarchy's cgroup directory. */
int ash_cgroup_join_dir(const char *dir, pid_t pid, ash_error_t *err);
/* v1: memory a task was charged before it moves in moves with it
 * (memory.move_charge_at_immigrate); v2 does so itself. Best effort. */
void ash_cgroup_move_charges(const struct ash_cgroup *cg);

/* Freeze and wait (up to timeout_ns) until the kernel reports it frozen. */
int ash_cgroup_freeze(const struct ash_cgroup *cg, int64_t timeout_ns, ash_error_t *err);
int ash_cgroup_thaw(const struct ash_cgroup *cg, ash_error_t *err);
/* True when frozen (v2 cgroup.events "frozen 1" / v1 FROZEN). */
bool ash_cgroup_frozen(const struct ash_cgroup *cg);
/* SIGKILL every member: v2 cgroup.kill when the kernel has it, else freeze,
 * SIGKILL every pid in cgroup.procs, thaw. Does not wait for them to exit. */
int ash_cgroup_kill(const struct ash_cgroup *cg, ash_error_t *err);
/* Member pids (of the v2 cgroup when present, else the first v1 one). */
int ash_cgroup_pids(const struct ash_cgroup *cg, pid_t **pids, size_t *n, ash_error_t *err);
/* Wait until no process is left (timeout_ns); 0 when empty. */
int ash_cgroup_wait_empty(const struct ash_cgroup *cg, int64_t timeout_ns, ash_error_t *err);
/* Kill what is left, wait, rmdir every hierarchy's directory. Missing dirs are fine. */
int ash_cgroup_destroy(struct ash_cgroup *cg, ash_error_t *err);
/* rmdir `rel` in every hierarchy of sys (a run's parent directory). */
/* Move every process of the cgroup dir `from` into `to`, when both are in one
 * hierarchy (nothing otherwise), repeating while a fork races the move. */
int ash_cgroup_move_all(const char *from, const char *to, ash_error_t *err);
/* rmdir a cgroup dir, waiting up to 100 ms while the kernel finishes releasing
 * exited tasks (EBUSY): 0, or -1 with errno. */
int ash_cgroup_rmdir(const char *dir);
int ash_cgroup_remove_parent(const struct ash_cgroup *cg, ash_error_t *err);

#endif
