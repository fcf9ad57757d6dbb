/* Named network namespaces and per-host UTS/mount namespaces, built by a thread. */
#include "sys/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int ash_netns_prepare_dir(ash_error_t *err)
{
    if (mkdir(ASH_NETNS_DIR, 0755) < 0 && errno != EEXIST)
        return ash_error(err, errno, "cannot create %s", ASH_NETNS_DIR);
    /* Shared, so a namespace named later is visible in mount namespaces made
     * earlier (what `ip netns add` does too). Needs its own mount point. */
    if (mount("", ASH_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
        return 0;
    if (errno != EINVAL)
        return ash_error(err, errno, "cannot make %s a shared mount", ASH_NETNS_DIR);
    if (mount(ASH_NETNS_DIR, ASH_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
        return ash_error(err, errno, "cannot bind-mount %s onto itself", ASH_NETNS_DIR);
    if (mount("", ASH_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
        return ash_error(err, errno, "cannot make %s a shared mount", ASH_NETNS_DIR);
    return 0;
}

struct build {
    const struct ash_ns_host_opts *o;
    struct ash_ns_host out;
    int err_code;
    bool named; /* the /run/netns entry is ours to remove on failure */
    char what[200];
};

static void *fail(struct build *b, const char *fmt, const char *arg)
{
    b->err_code = errno ? errno : EIO;
    snprintf(b->what, sizeof b->what, fmt, arg);
    return NULL;
}

/* A copy of the caller's mount namespace in which nothing propagates back to
 * the machine and no other namespace's /run/netns bind mount is held (they
 * would keep those namespaces, and their veths, alive after teardown). */
static int make_private_mnt_ns(const char **what)
{
    if (unshare(CLONE_NEWNS) < 0) {
        *what = "unshare(mount)";
        return -1;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
        *what = "cannot make / a slave mount";
        return -1;
    }
    if (umount2(ASH_NETNS_DIR, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
        *what = "cannot detach " ASH_NETNS_DIR " in the new mount namespace";
        return -1;
    }
    return 0;
}

static int enter_fresh_mnt_ns(struct build *b)
{
    const char *what = "";
    if (make_private_mnt_ns(&what) < 0) {
        fail(b, "%s", what);
        return -1;
    }
    return 0;
}

/* Runs on a thread of its own: unshare moves only this thread, and the thread
 * ends inside the new namespaces, so nobody has to switch back. Namespaces
 * outlive it through the fds it opened (and the /run/netns bind mount). */
static void *build_thread(void *arg)
{
    struct build *b = arg;
    const struct ash_ns_host_opts *o = b->o;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ASH_NETNS_DIR, o->netns_name);

    int flags = CLONE_NEWNET | (o->hostname ? CLONE_NEWUTS : 0);
    if (unshare(flags) < 0)
        return fail(b, "unshare(%s)", o->hostname ? "net, uts" : "net");
    b->out.net_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (b->out.net_fd < 0)
        return fail(b, "cannot open %s", "/proc/thread-self/ns/net");
    /* Still in the original mount namespace: the name is visible to everyone. */
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0)
        return fail(b, "cannot create %s", path);
    close(fd);
    if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) {
        int e = errno;
        unlink(path);
        errno = e;
        return fail(b, "cannot bind-mount the namespace at %s", path);
    }
    b->named = true;
    if (o->hostname) {
        if (sethostname(o->hostname, strlen(o->hostname)) < 0)
            return fail(b, "sethostname(%s)", o->hostname);
        b->out.uts_fd = open("/proc/thread-self/ns/uts", O_RDONLY | O_CLOEXEC);
        if (b->out.uts_fd < 0)
            return fail(b, "cannot open %s", "/proc/thread-self/ns/uts");
    }
    if (!o->mount_ns)
        return NULL;
    if (o->mnt_base) {
        /* Copy the base (already a slave without /run/netns): its mounts
         * are copied as slaves of the machine's, so nothing mounted here
         * reaches the base or another host. setns to a mount namespace
         * needs a filesystem context of our own. */
        if (unshare(CLONE_FS) < 0)
            return fail(b, "unshare(%s)", "fs");
        if (setns(*o->mnt_base, CLONE_NEWNS) < 0)
            return fail(b, "cannot enter the base mount namespace%s", "");
        if (unshare(CLONE_NEWNS) < 0)
            return fail(b, "unshare(%s)", "mount");
    } else if (enter_fresh_mnt_ns(b) < 0) {
        return NULL;
    }
    for (size_t i = 0; o->binds && o->binds[i]; i += 2) {
        if (mount(o->binds[i], o->binds[i + 1], "none", MS_BIND, NULL) < 0)
            return fail(b, "cannot bind-mount over %s", o->binds[i + 1]);
    }
    b->out.mnt_fd = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (b->out.mnt_fd < 0)
        return fail(b, "cannot open %s", "/proc/thread-self/ns/mnt");
    return NULL;
}

struct base {
    int fd;
    int err_code;
    const char *what;
};

static void *base_thread(void *arg)
{
    struct base *b = arg;
    if (make_private_mnt_ns(&b->what) < 0) {
        b->err_code = errno ? errno : EIO;
        return NULL;
    }
    b->fd = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (b->fd < 0) {
        b->err_code = errno;
        b->what = "cannot open /proc/thread-self/ns/mnt";
    }
    return NULL;
}

int ash_mnt_base_create(int *fd, ash_error_t *err)
{
    struct base b = {.fd = -1};
    pthread_t t;
    int r = pthread_create(&t, NULL, base_thread, &b);
    if (r != 0)
        return ash_error(err, r, "cannot start the namespace thread");
    pthread_join(t, NULL);
    if (b.err_code) {
        if (b.fd >= 0)
            close(b.fd);
        return ash_error(err, b.err_code, "base mount namespace: %s", b.what);
    }
    *fd = b.fd;
    return 0;
}

void ash_ns_host_close(struct ash_ns_host *h)
{
    if (h->net_fd >= 0)
        close(h->net_fd);
    if (h->uts_fd >= 0)
        close(h->uts_fd);
    if (h->mnt_fd >= 0)
        close(h->mnt_fd);
    h->net_fd = h->uts_fd = h->mnt_fd = -1;
}

int ash_ns_host_create(const struct ash_ns_host_opts *o, struct ash_ns_host *out, ash_error_t *err)
{
    struct build b = {.o = o, .out = {-1, -1, -1}};
    pthread_t t;
    int r = pthread_create(&t, NULL, build_thread, &b);
    if (r != 0)
        return ash_error(err, r, "cannot start the namespace thread");
    pthread_join(t, NULL);
    if (b.err_code) {
        ash_ns_host_close(&b.out);
        if (b.named)
            ash_netns_delete(o->netns_name, NULL);
        return ash_error(err, b.err_code, "host namespaces for %s: %s", o->netns_name, b.what);
    }
    *out = b.out;
    return 0;
}

int ash_netns_create(const char *name, int *fd, ash_error_t *err)
{
    struct ash_ns_host_opts o = {.netns_name = name};
    struct ash_ns_host h = {-1, -1, -1}; /* filled on success; -O2 cannot see through the thread */
    if (ash_ns_host_create(&o, &h, err) < 0)
        return -1;
    if (fd)
        *fd = h.net_fd;
    else
        close(h.net_fd);
    return 0;
}

int ash_netns_open(const char *name, ash_error_t *err)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ASH_NETNS_DIR, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ash_error(err, errno, "cannot open network namespace %s", path);
    return fd;
}

int ash_netns_delete(const char *name, ash_error_t *err)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ASH_NETNS_DIR, name);
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return ash_error(err, errno, "cannot unmount %s", path);
    if (unlink(path) < 0 && errno != ENOENT)
        return ash_error(err, errno, "cannot remove %s", path);
    return 0;
}

int ash_netns_self_ino(unsigned long long *ino, ash_error_t *err)
{
    struct stat sb;
    if (stat("/proc/thread-self/ns/net", &sb) < 0)
        return ash_error(err, errno, "cannot stat /proc/thread-self/ns/net");
    *ino = (unsigned long long)sb.st_ino;
    return 0;
}

bool ash_netns_exists(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ASH_NETNS_DIR, name);
    return access(path, F_OK) == 0;
}

int ash_ns_run(int nsfd, int nstype, int (*fn)(void *), void *arg)
{
    const char *self = nstype == CLONE_NEWNET   ? "/proc/thread-self/ns/net"
                       : nstype == CLONE_NEWUTS ? "/proc/thread-self/ns/uts"
                                                : NULL;
    if (!self) {
        errno = EINVAL; /* a mount namespace cannot be entered by one thread of many */
        return -1;
    }
    int back = open(self, O_RDONLY | O_CLOEXEC);
    if (back < 0)
        return -1;
    if (setns(nsfd, nstype) < 0) {
        int e = errno;
        close(back);
        errno = e;
        return -1;
    }
    int ret = fn(arg);
    int e = errno;
    if (setns(back, nstype) < 0) {
        /* This thread would go on in the wrong namespace: nothing sane remains. */
        perror("aftershock: cannot return to the original namespace");
        abort();
    }
    close(back);
    errno = e;
    return ret;
}
