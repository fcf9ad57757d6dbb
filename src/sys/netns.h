/* Namespaces without `ip`: named network namespaces under /run/netns (so `ip
 * netns` and leftover checks see them), plus a host's UTS and mount
 * namespaces, made by a short-lived thread and kept alive by fds and bind
 * mounts only: no holder process. */
#ifndef ASH_SYS_NETNS_H
#define ASH_SYS_NETNS_H

#include <aftershock/error.h>
#include <stdbool.h>

#define ASH_NETNS_DIR "/run/netns"

/* Make /run/netns exist and be a shared mount point, as `ip netns add` does. */
int ash_netns_prepare_dir(ash_error_t *err);

/* What to build for one host. */
struct ash_ns_host_opts {
    const char *netns_name; /* /run/netns/<name>; required */
    const char *hostname;   /* NULL: no UTS namespace */
    bool mount_ns;          /* own mount namespace (needed for the binds below) */
    /* Files bind-mounted over targets inside the mount namespace: pairs
     * {source, target}, NULL-terminated. */
    const char *const *binds;
    /* Optional: an fd of a mount namespace from ash_mnt_base_create to copy
     * instead of the caller's (NULL: the caller's, then /run/netns detached). */
    const int *mnt_base;
};

/* A mount namespace to copy hosts' from: the caller's, made a slave, with
 * /run/netns detached once (detaching it in every host costs an RCU grace
 * period each). *fd receives it; close it when no more hosts are made. */
int ash_mnt_base_create(int *fd, ash_error_t *err);

struct ash_ns_host {
    int net_fd; /* -1 when absent */
    int uts_fd;
    int mnt_fd;
};

/* Build the namespaces (the netns is bind-mounted at /run/netns/<name> first,
 * so it is named before anything is put into it). */
int ash_ns_host_create(const struct ash_ns_host_opts *o, struct ash_ns_host *out, ash_error_t *err);
void ash_ns_host_close(struct ash_ns_host *h);

/* Create a plain named netns; *fd (optional) receives an fd to it. */
int ash_netns_create(const char *name, int *fd, ash_error_t *err);
/* Open /run/netns/<name> (O_RDONLY|O_CLOEXEC). */
int ash_netns_open(const char *name, ash_error_t *err);
/* Unmount (detached) and unlink /run/netns/<name>; a missing one is fine. The
 * kernel frees the namespace, and every link in it, once no fd, mount or
 * process holds it any more. */
int ash_netns_delete(const char *name, ash_error_t *err);
bool ash_netns_exists(const char *name);
/* The inode of the calling thread's network namespace (its identity while it
 * lives): written beside a record of a change made "here", so that recover run
 * from another namespace can tell and refuse to touch a link of the same name. */
int ash_netns_self_ino(unsigned long long *ino, ash_error_t *err);

/* Run fn on the calling thread inside the namespace nsfd (nstype CLONE_NEWNET,
 * ...), then switch back. Sockets fn creates stay in that namespace. Returns
 * fn's result, or -1 with errno when switching failed. */
int ash_ns_run(int nsfd, int nstype, int (*fn)(void *), void *arg);

#endif
