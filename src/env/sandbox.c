/* Sandbox hosts: namespaces + veth on a bridge in the run's hub namespace + cgroups, journaled, torn down at once. */
#include "sys/fs.h"
#include "env/sandbox.h"
#include "env/nss.h"
#include "env/sandbox_overlay.h"
#include "env/sandbox_fw.h"
#include "sys/cgroup.h"
#include "sys/clock.h"
#include "sys/netlink.h"
#include "sys/netns.h"
#include "sys/nft.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HOSTS 250
#define IF_NAMESIZE_ASH 16 /* IFNAMSIZ: 15 characters and the terminator */

struct ash_host {
    struct ash_sandbox *sb;
    char name[64];
    char netns[128];
    char veth[IF_NAMESIZE_ASH];
    uint32_t addr; /* network byte order */
    char addr_str[INET_ADDRSTRLEN];
    char etc_dir[4200];
    struct ash_ns_host ns;
    struct ash_nl *nl; /* rtnetlink socket inside the host's namespace */
    int eth0;          /* ifindex inside the host */
    struct ash_cgroup cg;
    bool cg_made, ns_made; /* journaled and (being) made: teardown owes an undo */
    bool links_down;
    size_t index; /* in the scenario's hosts: its address and veth */
};

/* A scenario host's name and address, whichever machine builds it (fleet.hosts). */
struct table_entry {
    char name[64];
    char addr[INET_ADDRSTRLEN];
};

struct ash_sandbox {
    char run_id[16];
    char files_dir[4200]; /* removed on teardown */
    char hosts_dir[4200];
    struct ash_journal *j;
    struct ash_cgroup_sys cgsys;
    struct ash_cgroup parent_cg;
    bool parent_made;
    struct ash_nl *nl;     /* root namespace */
    struct ash_nl *hub_nl; /* the hub namespace: the bridge and its ports */
    int hub_fd;            /* the hub namespace, -1 */
    char hub[128];         /* its name under /run/netns */
    char bridge[IF_NAMESIZE_ASH];
    char gw_link[IF_NAMESIZE_ASH]; /* root's end of the uplink: the gateway address */
    char uplink[IF_NAMESIZE_ASH];  /* hub's end: a port of the bridge */
    char veth_prefix[IF_NAMESIZE_ASH];
    int bridge_ifindex; /* in the hub */
    uint32_t subnet;    /* network byte order, /24 */
    char gateway[INET_ADDRSTRLEN];
    char subnet_str[32];
    struct ash_host *hosts; /* the hosts built here */
    size_t n;
    struct table_entry *table; /* every host of the scenario: /etc/hosts and lookups */
    size_t n_table;
    uint32_t given_subnet; /* fleet agent: the coordinator's /24; its bridge carries no address */
    bool files_made, hub_made, fw_made;
    uint64_t j_files, j_hub, j_parent, j_fw;
    uint64_t j_netns, j_cgroups; /* one record for every host's namespaces, one for their cgroups */
    bool hosts_self_only;        /* /etc/hosts: localhost and own name only (a DNS server answers the rest) */
    int mnt_base;                /* while building: the mount namespace hosts' are copied from, or -1 */
    bool nss_bind;               /* files_dir/nsswitch.conf goes over each host's /etc/nsswitch.conf */
    bool nscd_bind;              /* files_dir/nscd (empty) goes over each host's nscd directory */
    uint64_t done[8];            /* done marks the teardown writes at its end */
    size_t n_done;
};

/* ---- small helpers ---- */

static void host_cgroup_init(struct ash_sandbox *sb, struct ash_host *h, const struct ash_host_spec *spec);

/* Every record of the sandbox, in one write and one fsync (each one ~1-3 ms
 * on this machine's disk; six of them were a third of a one-host build), all
 * before anything is made: every name they hold is known from the run id and
 * the scenario. The order is the one they were written in one by one (files,
 * hub, guard table, parent cgroup, namespaces, hosts' cgroups), so recover
 * undoes them in the same order as before; each undo op takes a missing
 * object as undone, and the teardown marks done a record whose object was
 * never begun. One record names every host's namespace (and so every veth:
 * they die with it), one the hub (its namespace, with the bridge and the
 * hosts' ends of their veths in it, and the gateway link in the root, which
 * dies with the hub but is deleted first), one lists every host's cgroup;
 * the cgroup record is newer, so recover kills the hosts' processes before it
 * releases their namespaces; the parent cgroup's is older than the hosts',
 * so undone after. */
static int journal_all(struct ash_sandbox *sb, const struct ash_scenario *sc, const char *parent_cgroup,
                       ash_error_t *err)
{
    ash_cgroup_init(&sb->parent_cg, &sb->cgsys, parent_cgroup, true);
    json_t *names = json_array(), *cgs = json_array();
    for (size_t i = 0; names && cgs && i < sb->n; i++) {
        host_cgroup_init(sb, &sb->hosts[i], &sc->hosts[sb->hosts[i].index]);
        json_array_append_new(names, json_string(sb->hosts[i].netns));
        json_array_append_new(cgs, ash_cgroup_to_json(&sb->hosts[i].cg));
    }
    const char *ops[] = {"sandbox.files",  "sandbox.hub",   "sandbox.fw",
                         "sandbox.cgroup", "sandbox.netns", "sandbox.cgroup"};
    json_t *data[] = {
        json_pack("{s:s, s:s}", "dir", sb->files_dir, "run", sb->run_id),
        json_pack("{s:s, s:s, s:s}", "hub", sb->hub, "link", sb->gw_link, "bridge", sb->bridge),
        json_pack("{s:s}", "table", sb->bridge),
        ash_cgroup_to_json(&sb->parent_cg),
        names ? json_pack("{s:o, s:s}", "netns", names, "veth_prefix", sb->veth_prefix) : NULL,
        cgs ? json_pack("{s:o}", "cgroups", cgs) : NULL,
    };
    size_t n = sizeof data / sizeof data[0];
    uint64_t ids[sizeof data / sizeof data[0]] = {0};
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++)
        if (!data[i])
            ret = ash_error(err, ENOMEM, "journal record");
    if (ret == 0 && sb->j)
        ret = ash_journal_append_many(sb->j, ops, data, n, ids, err);
    for (size_t i = 0; i < n; i++)
        json_decref(data[i]);
    if (!data[4])
        json_decref(names);
    if (!data[5])
        json_decref(cgs);
    sb->j_files = ids[0], sb->j_hub = ids[1], sb->j_fw = ids[2];
    sb->j_parent = ids[3], sb->j_netns = ids[4], sb->j_cgroups = ids[5];
    return ret;
}

/* Done marks are written together at the end of the teardown (one fsync): a
 * crash before leaves them pending, and recover's undos of objects already
 * gone do nothing. */
static void journal_done(struct ash_sandbox *sb, uint64_t *id)
{
    if (sb->j && *id && sb->n_done < sizeof sb->done / sizeof sb->done[0])
        sb->done[sb->n_done++] = *id;
    *id = 0;
}

static int write_text(const char *path, const char *text, ash_error_t *err)
{
    /* Never through a symlink: what it writes (the marker, a host's /etc files) is never one. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return ash_error(err, errno, "cannot create %s", path);
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    int e = errno;
    close(fd);
    if (w != (ssize_t)len)
        return ash_error(err, w < 0 ? e : EIO, "cannot write %s", path);
    return 0;
}

/* The sandbox's files directory carries this marker with its run id, so that an undo record
 * (which recover runs as root) can remove only a tree this run made, never one it names. */
#define FILES_MARKER ".aftershock-sandbox"

static int make_files_dir(struct ash_sandbox *sb, ash_error_t *err)
{
    /* The parent may exist; the directory itself must be new (exclusive mkdir): one
     * that is already there belongs to someone else. */
    char parent[sizeof sb->files_dir];
    snprintf(parent, sizeof parent, "%s", sb->files_dir);
    *strrchr(parent, '/') = '\0';
    if (ash_mkdir_p(parent, 0755, err) < 0)
        return -1;
    if (mkdir(sb->files_dir, 0755) < 0)
        return ash_error(err, errno, "cannot create the sandbox's files directory %s", sb->files_dir);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/" FILES_MARKER, sb->files_dir);
    return write_text(marker, sb->run_id, err);
}

/* Empty the directory DFD (closed here) without ever following a symlink: every entry is
 * unlinked relative to its directory's fd, and a subdirectory is opened relative to its
 * parent's fd with O_NOFOLLOW. A directory swapped for a symlink mid-walk (by anyone who can
 * write a parent) is then removed as a link, never walked into; nftw by path would follow it. */
static int empty_dir_at(int dfd, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -1;
    }
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            continue;
        if (errno != EISDIR || depth >= 64) { /* deeper than any tree the sandbox makes */
            ret = -1;
            continue;
        }
        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 || empty_dir_at(sub, depth + 1) < 0 || unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
            ret = -1;
    }
    closedir(d);
    return ret;
}

/* The entries of directory fd DFD (left open) removed by a few threads, each
 * as empty_dir_at removes one: every removed directory costs the filesystem
 * a freed block, which on a disk mounted with online discard (and no
 * journal) is a synchronous discard, ~1-3 ms each here; the per-host
 * directories of a 50-host sandbox took 100-250 ms one after the other.
 * The discards of several threads are in flight together. */
#define RM_WORKERS 8

struct rm_work {
    int dfd;
    char **names;
    size_t n;
    atomic_size_t next;
    atomic_bool failed;
};

static void *rm_worker(void *arg)
{
    struct rm_work *w = arg;
    for (size_t i; (i = atomic_fetch_add(&w->next, 1)) < w->n;) {
        const char *name = w->names[i];
        if (unlinkat(w->dfd, name, 0) == 0)
            continue;
        int sub = errno == EISDIR ? openat(w->dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        /* Held open across its rmdir, the directory's inode (and block) is
         * freed at the close below, not inside the rmdir, which holds the
         * shared parent's lock: so the discards of the threads overlap. */
        int hold = sub >= 0 ? dup(sub) : -1;
        if (sub < 0 || empty_dir_at(sub, 1) < 0 || unlinkat(w->dfd, name, AT_REMOVEDIR) < 0)
            atomic_store(&w->failed, true);
        if (hold >= 0)
            close(hold);
    }
    return NULL;
}

static int empty_dir_parallel(int dfd)
{
    int lfd = dup(dfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) {
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    struct rm_work w = {.dfd = dfd};
    atomic_init(&w.next, 0);
    atomic_init(&w.failed, false);
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (w.n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **v = realloc(w.names, ncap * sizeof *v);
            if (!v)
                break; /* the rest is left to the caller's walk */
            w.names = v;
            cap = ncap;
        }
        if (!(w.names[w.n] = strdup(de->d_name)))
            break;
        w.n++;
    }
    closedir(d);
    pthread_t th[RM_WORKERS];
    size_t nth = 0;
    for (; nth < RM_WORKERS && nth + 1 < w.n; nth++)
        if (pthread_create(&th[nth], NULL, rm_worker, &w) != 0)
            break;
    rm_worker(&w);
    for (size_t t = 0; t < nth; t++)
        pthread_join(th[t], NULL);
    for (size_t i = 0; i < w.n; i++)
        free(w.names[i]);
    free(w.names);
    return atomic_load(&w.failed) ? -1 : 0;
}

/* Remove DIR if it is what run RUN's sandbox made: a real directory we own, named sandbox-RUN
 * (or hosts/, as runs before the name carried the run id made it), holding the marker with RUN
 * in it (an empty directory counts: a crash between mkdir and the marker leaves one, and
 * removing it harms nothing). The checks and the removal work on one opened directory (its
 * parent opened first, DIR itself relative to it with O_NOFOLLOW), so what was checked is
 * what is removed. 0 removed, 1 already gone, -1 refused or failed. */
static int remove_files_dir(const char *dir, const char *run, ash_error_t *err)
{
    char parent[4200];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    const char *base = slash ? dir + (slash - parent) + 1 : dir;
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else
        slash[slash == parent ? 1 : 0] = '\0';
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return errno == ENOENT ? 1 : ash_error(err, errno, "cannot open %s", parent);
    int dfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        close(pfd);
        if (e == ENOENT)
            return 1;
        if (e == ELOOP || e == ENOTDIR)
            return ash_error(err, EPERM, "not removing %s: not a directory this user owns (a symlink is refused)", dir);
        return ash_error(err, e, "cannot open %s", dir);
    }
    struct stat st;
    int ret = 0;
    char want[64];
    snprintf(want, sizeof want, "sandbox-%s", run);
    if (fstat(dfd, &st) < 0) {
        ret = ash_error(err, errno, "cannot inspect %s", dir);
        goto out;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        ret = ash_error(err, EPERM, "not removing %s: not a directory this user owns (owned by uid %u)", dir,
                        (unsigned)st.st_uid);
        goto out;
    }
    if (strcmp(base, "hosts") != 0 && strcmp(base, want) != 0) {
        ret = ash_error(err, EPERM, "not removing %s: a sandbox's files directory is named hosts or %s", dir, want);
        goto out;
    }
    char buf[64] = {0};
    int mfd = openat(dfd, FILES_MARKER, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n = mfd >= 0 ? read(mfd, buf, sizeof buf - 1) : -1;
    bool empty = false;
    if (mfd < 0) {
        int lfd = dup(dfd);
        DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
        struct dirent *de;
        empty = d != NULL;
        while (d && (de = readdir(d)))
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
                empty = false;
        if (d)
            closedir(d);
        else if (lfd >= 0)
            close(lfd);
    } else {
        close(mfd);
    }
    if (!empty && !(n > 0 && strcmp(buf, run) == 0)) {
        ret =
            ash_error(err, EPERM, "not removing %s: it holds no marker of run %s (not made by that sandbox)", dir, run);
        goto out;
    }
    errno = 0;
    /* The hosts' directories first, side by side (empty_dir_parallel); what
     * fails there is tried again, and reported, by the walk below. */
    int hfd = openat(dfd, "hosts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (hfd >= 0) {
        empty_dir_parallel(hfd);
        close(hfd);
    }
    errno = 0;
    int wfd = dup(dfd);
    if (wfd < 0 || empty_dir_at(wfd, 0) < 0 || unlinkat(pfd, base, AT_REMOVEDIR) < 0)
        ret = ash_error(err, errno ? errno : ENOTEMPTY, "cannot remove %s", dir);
out:
    close(dfd);
    close(pfd);
    return ret;
}

static bool valid_run_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 11)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]))
            return false;
    return true;
}

/* Wait until no link named prefix* (when given) nor the link `bridge` (when
 * given: a bridge, or the gateway link) is left in the root namespace: the
 * kernel removes links asynchronously, in one batch, and says so on a watch
 * socket (polled every 2 ms without one). Past the timeout, or once the
 * link's own deletion has failed (*bridge_failed), the stragglers are
 * deleted here, one by one. */
static int wait_links_gone(struct ash_nl *nl, const char *prefix, const char *bridge, const atomic_bool *bridge_failed,
                           int64_t timeout_ns, ash_error_t *err)
{
    int64_t deadline = ash_now_ns() + timeout_ns;
    struct ash_nl *watch = NULL;
    if (ash_nl_watch_links(&watch, NULL) < 0)
        watch = NULL;
    int ret;
    for (;;) {
        char **names;
        size_t n;
        int bidx = 0;
        names = NULL, n = 0;
        if (prefix && ash_nl_link_names(nl, prefix, &names, &n, err) < 0) {
            ret = -1;
            break;
        }
        if (bridge && ash_nl_link_index(nl, bridge, &bidx, err) < 0) {
            for (size_t i = 0; i < n; i++)
                free(names[i]);
            free(names);
            ret = -1;
            break;
        }
        bool late = ash_now_ns() >= deadline;
        bool bridge_late = late || (bridge_failed && atomic_load(bridge_failed));
        ret = 0;
        for (size_t i = 0; i < n; i++) {
            if (late && ret == 0)
                ret = ash_nl_link_delete_name(nl, names[i], err);
            free(names[i]);
        }
        free(names);
        if (bidx > 0 && bridge_late && ret == 0 && ash_nl_link_delete(nl, bidx, err) < 0)
            ret = ash_error_wrap(err, "link %s", bridge);
        if ((n == 0 || late) && (bidx == 0 || bridge_late))
            break;
        int64_t left = deadline - ash_now_ns();
        if (watch && ash_nl_watch_wait(watch, left < 20 * ASH_NS_PER_MS ? left : 20 * ASH_NS_PER_MS, NULL) < 0) {
            ash_nl_close(watch);
            watch = NULL;
        }
        if (!watch)
            usleep(2000);
    }
    ash_nl_close(watch);
    return ret;
}

/* ---- subnet ---- */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* A /24 from 10.128.0.0/9 (then 172.16.0.0/12) that no address or route on
 * this machine overlaps. The starting point comes from the run id, so runs
 * rarely even try the same one; the caller holds ASH_SANDBOX_SUBNET_LOCK across choosing and
 * assigning, so two runs at once never pick the same. */
static int choose_subnet(struct ash_nl *nl, const char *run_id, uint32_t *out, ash_error_t *err)
{
    struct ash_ipv4_prefix *used;
    size_t n;
    if (ash_nl_ipv4_in_use(nl, &used, &n, err) < 0)
        return -1;
    uint32_t h = hash_str(run_id);
    for (uint32_t i = 0; i < 32768 + 4096; i++) {
        uint32_t host;
        if (i < 32768) /* 10.128.0.0 - 10.255.255.0 */
            host = (10u << 24) | (((128u << 8) + ((h + i) % 32768u)) << 8);
        else /* 172.16.0.0 - 172.31.255.0 */
            host = (172u << 24) | (((16u << 8) + ((h + i) % 4096u)) << 8);
        uint32_t net = htonl(host);
        bool clash = false;
        for (size_t k = 0; k < n && !clash; k++)
            clash = ash_ipv4_overlap(net, 24, used[k].addr, used[k].len);
        if (!clash) {
            free(used);
            *out = net;
            return 0;
        }
    }
    free(used);
    return ash_error_class(err, ASH_ERR_ENVIRONMENT, EADDRINUSE,
                           "no free /24 in 10.128.0.0/9 or 172.16.0.0/12 for the sandbox");
}

static void addr_str(uint32_t net, unsigned host, char *buf)
{
    uint32_t a = htonl(ntohl(net) | host);
    inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* ---- building ---- */

static int write_hosts_file(struct ash_sandbox *sb, struct ash_host *h, ash_error_t *err)
{
    size_t cap = 256 + sb->n_table * 96, len = 0;
    char *text = malloc(cap);
    if (!text)
        return ash_error(err, ENOMEM, "hosts file");
    len += (size_t)snprintf(text + len, cap - len,
                            "# generated by aftershock for sandbox host %s\n"
                            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                            h->name);
    if (sb->hosts_self_only) {
        len += (size_t)snprintf(text + len, cap - len, "%s\t%s\n", h->addr_str, h->name);
    } else {
        len += (size_t)snprintf(text + len, cap - len, "%s\taftershock\n", sb->gateway);
        for (size_t i = 0; i < sb->n_table; i++)
            len += (size_t)snprintf(text + len, cap - len, "%s\t%s\n", sb->table[i].addr, sb->table[i].name);
    }
    char path[4300];
    snprintf(path, sizeof path, "%s/hosts", h->etc_dir);
    int r = write_text(path, text, err);
    free(text);
    return r;
}

int ash_sandbox_set_hosts_table(struct ash_sandbox *sb, bool all, ash_error_t *err)
{
    sb->hosts_self_only = !all;
    for (size_t i = 0; i < sb->n; i++)
        if (write_hosts_file(sb, &sb->hosts[i], err) < 0)
            return -1;
    return 0;
}

const char *ash_sandbox_nsswitch = "/etc/nsswitch.conf";
const char *ash_sandbox_nscd_dir = "/var/run/nscd"; /* glibc's _PATH_NSCDSOCKET is in it */

/* An empty directory to hide the machine's nscd socket from the hosts. */
static int write_nscd_dir(struct ash_sandbox *sb, ash_error_t *err)
{
    struct stat st;
    sb->nscd_bind = stat(ash_sandbox_nscd_dir, &st) == 0 && S_ISDIR(st.st_mode);
    if (!sb->nscd_bind)
        return 0;
    char path[4300];
    snprintf(path, sizeof path, "%s/nscd", sb->files_dir);
    if (mkdir(path, 0755) < 0) {
        sb->nscd_bind = false;
        return ash_error(err, errno, "cannot create %s", path);
    }
    return 0;
}

/* The hosts' nsswitch.conf, when the machine's would send their lookups
 * elsewhere than /etc/hosts and the sandbox's DNS server (env/nss.h). A
 * machine without one (glibc's default: dns, files) needs none. */
static int write_nsswitch(struct ash_sandbox *sb, ash_error_t *err)
{
    sb->nss_bind = false;
    FILE *f = fopen(ash_sandbox_nsswitch, "re");
    if (!f)
        return errno == ENOENT ? 0 : ash_error(err, errno, "cannot read %s", ash_sandbox_nsswitch);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    bool whole = feof(f) && !ferror(f);
    fclose(f);
    if (!whole)
        return ash_error(err, EFBIG, "cannot read %s (an error, or longer than %zu bytes)", ash_sandbox_nsswitch,
                         sizeof buf - 1);
    char *text = NULL;
    int r = ash_nss_hosts_files_dns(buf, n, &text);
    if (r < 0)
        return ash_error(err, ENOMEM, "%s", ash_sandbox_nsswitch);
    if (r == 0)
        return 0;
    char path[4300];
    snprintf(path, sizeof path, "%s/nsswitch.conf", sb->files_dir);
    r = write_text(path, text, err);
    free(text);
    sb->nss_bind = r == 0;
    return r;
}

/* What every host shares: the hosts' directory and one resolv.conf (the same
 * text for all), made once before the workers start. `/run` here is ext4
 * without a journal: each new inode costs 50-100 us (the allocator skips
 * recently deleted ones), and four per host, made one by one on the main
 * thread, were a third of a 50-host build. */
static int write_shared_files(struct ash_sandbox *sb, ash_error_t *err)
{
    if (mkdir(sb->hosts_dir, 0755) < 0)
        return ash_error(err, errno, "cannot create %s", sb->hosts_dir);
    char path[4300];
    char resolv[128];
    snprintf(resolv, sizeof resolv, "# generated by aftershock\nnameserver %s\noptions timeout:1 attempts:2\n",
             sb->gateway);
    snprintf(path, sizeof path, "%s/resolv.conf", sb->files_dir);
    if (write_text(path, resolv, err) < 0 || write_nscd_dir(sb, err) < 0)
        return -1;
    return write_nsswitch(sb, err);
}

/* One host's etc directory: its own hosts file (rewritten per host later by
 * ash_sandbox_set_hosts_table) and a hard link to the shared resolv.conf (no
 * new inode; nothing rewrites it). Made by the host's worker, in parallel. */
static int write_host_files(struct ash_sandbox *sb, struct ash_host *h, ash_error_t *err)
{
    snprintf(h->etc_dir, sizeof h->etc_dir, "%s/%s", sb->hosts_dir, h->name);
    if (mkdir(h->etc_dir, 0755) < 0)
        return ash_error(err, errno, "cannot create %s", h->etc_dir);
    snprintf(h->etc_dir, sizeof h->etc_dir, "%s/%s/etc", sb->hosts_dir, h->name);
    if (mkdir(h->etc_dir, 0755) < 0)
        return ash_error(err, errno, "cannot create %s", h->etc_dir);
    if (write_hosts_file(sb, h, err) < 0)
        return -1;
    char src[4300], path[4300];
    snprintf(src, sizeof src, "%s/resolv.conf", sb->files_dir);
    snprintf(path, sizeof path, "%s/resolv.conf", h->etc_dir);
    if (link(src, path) < 0)
        return ash_error(err, errno, "cannot create %s", path);
    return 0;
}

/* The network part of one host: namespaces, its veth (one request makes both
 * ends: eth0 inside the host, ours on the hub's bridge, up), loopback and
 * eth0 up, address, default route. Runs on a worker thread with its own
 * socket in the hub `hub_nl`; the records are journaled already (build_hosts). */
static int build_host_net(struct ash_sandbox *sb, struct ash_nl *hub_nl, struct ash_host *h, ash_error_t *err)
{
    if (write_host_files(sb, h, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    char hosts_src[4300], resolv_src[4300];
    snprintf(hosts_src, sizeof hosts_src, "%s/hosts", h->etc_dir);
    snprintf(resolv_src, sizeof resolv_src, "%s/resolv.conf", h->etc_dir);
    char nss_src[4300], nscd_src[4300];
    snprintf(nss_src, sizeof nss_src, "%s/nsswitch.conf", sb->files_dir);
    snprintf(nscd_src, sizeof nscd_src, "%s/nscd", sb->files_dir);
    const char *binds[9] = {hosts_src, "/etc/hosts", resolv_src, "/etc/resolv.conf"};
    size_t nb = 4;
    if (sb->nss_bind)
        binds[nb++] = nss_src, binds[nb++] = ash_sandbox_nsswitch;
    if (sb->nscd_bind)
        binds[nb++] = nscd_src, binds[nb++] = ash_sandbox_nscd_dir;
    struct ash_ns_host_opts o = {.netns_name = h->netns,
                                 .hostname = h->name,
                                 .mount_ns = true,
                                 .binds = binds,
                                 .mnt_base = sb->mnt_base >= 0 ? &sb->mnt_base : NULL};
    if (ash_ns_host_create(&o, &h->ns, err) < 0)
        return -1;
    if (ash_nl_veth_add(hub_nl, h->veth, "eth0", h->ns.net_fd, sb->bridge_ifindex, true, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    if (ash_nl_open_in(h->ns.net_fd, &h->nl, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    /* Loopback is the first device of every network namespace, always index 1
     * (the kernel's LOOPBACK_IFINDEX): no lookup for it. */
    if (ash_nl_link_set_up(h->nl, 1, true, err) < 0 || ash_nl_link_index(h->nl, "eth0", &h->eth0, err) < 0 ||
        ash_nl_link_set_up(h->nl, h->eth0, true, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    if (ash_nl_addr4_add(h->nl, h->eth0, h->addr, 24, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    uint32_t gw = htonl(ntohl(sb->subnet) | 1u);
    if (ash_nl_route4_default(h->nl, gw, h->eth0, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    return 0;
}

static void host_cgroup_init(struct ash_sandbox *sb, struct ash_host *h, const struct ash_host_spec *spec)
{
    struct ash_sandbox_names nm;
    ash_sandbox_names(sb->run_id, 0, h->name, &nm);
    ash_cgroup_init(&h->cg, &sb->cgsys, nm.cgroup, spec->cpu > 0);
}

static int build_host_cgroup(struct ash_sandbox *sb, struct ash_host *h, const struct ash_host_spec *spec,
                             ash_error_t *err)
{
    struct ash_sandbox_names nm;
    ash_sandbox_names(sb->run_id, 0, h->name, &nm);
    bool want_cpu = spec->cpu > 0;
    if (ash_cgroup_create(&h->cg, &sb->cgsys, nm.cgroup, want_cpu, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    if (spec->memory.set) {
        uint64_t bytes = spec->memory.bytes;
        if (spec->memory.is_percent)
            bytes = (uint64_t)((double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) * spec->memory.fraction);
        if (ash_cgroup_set_memory(&h->cg, bytes, NULL, err) < 0)
            return ash_error_wrap(err, "host %s: memory limit", h->name);
    }
    if (want_cpu && ash_cgroup_set_cpu(&h->cg, spec->cpu, NULL, err) < 0)
        return ash_error_wrap(err, "host %s: cpu quota", h->name);
    if (ash_cgroup_open_procs(&h->cg, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    return 0;
}

/* Hosts' network parts are built by a few threads at once: most of a host's
 * cost is the kernel setting up a network and a mount namespace, which runs
 * in parallel on other cores and overlaps with the waits of the others. */
#define NET_WORKERS 4

struct net_work {
    struct ash_sandbox *sb;
    atomic_size_t next;
    int *ret;          /* per host */
    ash_error_t *errs; /* per host */
};

static void *net_worker(void *arg)
{
    struct net_work *w = arg;
    struct ash_nl *nl = NULL;
    ash_error_t open_err = {0};
    int open_ret = ash_nl_open_in(w->sb->hub_fd, &nl, &open_err);
    for (;;) {
        size_t i = atomic_fetch_add(&w->next, 1);
        if (i >= w->sb->n)
            break;
        if (open_ret < 0) {
            w->ret[i] = -1;
            w->errs[i] = open_err;
            continue;
        }
        w->ret[i] = build_host_net(w->sb, nl, &w->sb->hosts[i], &w->errs[i]);
    }
    ash_nl_close(nl);
    return NULL;
}

/* Every host. Two journal records cover all of them (journal_all): one names
 * every namespace, one lists every cgroup; both are on disk already. */
static int build_hosts(struct ash_sandbox *sb, const struct ash_scenario *sc, ash_error_t *err)
{
    for (size_t i = 0; i < sb->n; i++)
        sb->hosts[i].ns_made = true;
    for (size_t i = 0; i < sb->n; i++)
        sb->hosts[i].cg_made = true;

    struct net_work w = {
        .sb = sb, .ret = calloc(sb->n + 1, sizeof(int)), .errs = calloc(sb->n + 1, sizeof(ash_error_t))};
    if (!w.ret || !w.errs) {
        free(w.ret);
        free(w.errs);
        return ash_error(err, ENOMEM, "sandbox");
    }
    atomic_init(&w.next, 0);
    /* Each host keeps about six descriptors (its namespaces, netlink socket,
     * cgroup files): room for them in one growth of the table, made before
     * any thread here shares it, not two or three grace periods' worth of
     * waiting once the workers do (20-60 ms at 50 hosts). */
    ash_fd_table_reserve(sb->n * 8 + NET_WORKERS * 4);
    /* Without a base each host detaches /run/netns in its own copy: slower, same result. */
    if (ash_mnt_base_create(&sb->mnt_base, NULL) < 0)
        sb->mnt_base = -1;
    pthread_t th[NET_WORKERS];
    size_t nth = 0;
    for (; nth < NET_WORKERS && nth < sb->n; nth++)
        if (pthread_create(&th[nth], NULL, net_worker, &w) != 0)
            break;
    /* The cgroups meanwhile, here; then lend a hand (alone if no thread started). */
    int ret = 0;
    for (size_t i = 0; i < sb->n && ret == 0; i++)
        ret = build_host_cgroup(sb, &sb->hosts[i], &sc->hosts[sb->hosts[i].index], err);
    if (nth == 0)
        net_worker(&w);
    for (size_t t = 0; t < nth; t++)
        pthread_join(th[t], NULL);
    if (sb->mnt_base >= 0)
        close(sb->mnt_base);
    sb->mnt_base = -1;
    for (size_t i = 0; i < sb->n && ret == 0; i++)
        if (w.ret[i] < 0) {
            *err = w.errs[i];
            ret = -1;
        }
    free(w.ret);
    free(w.errs);
    return ret;
}

/* The root's end of the uplink, the gateway: closed like the bridge used to
 * be. Whatever ip_forward says for the machine, nothing entering from it is
 * routed on (IPv4 checks the ingress device's forwarding flag), and no IPv6
 * at all on it. Over netlink, not /proc/sys: a fleet agent in a container (a
 * swarm task) has /proc/sys read-only. */
static int close_gateway_link(struct ash_sandbox *sb, int idx, ash_error_t *err)
{
    if (ash_nl_link_forwarding4(sb->nl, idx, false, err) < 0)
        return ash_error_wrap(err, "cannot close the sandbox's gateway link %s", sb->gw_link);
    char path[160];
    snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", sb->gw_link);
    /* IPv6 off has no netlink attribute: where /proc/sys is read-only, the link
     * at least gets no IPv6 address of its own (not even link-local), so nothing
     * is addressed to it. Both absent when IPv6 is off: fine. */
    if (ash_write_text(path, "1") < 0)
        ash_nl_link_ipv6_noaddr(sb->nl, idx, NULL);
    return 0;
}

/* The subnet: chosen, and taken by the gateway's address, under a lock that
 * every run on the machine takes for the same, so two runs starting at once
 * never choose the same /24 (choose_subnet looks at the addresses in use).
 * Only that is under the lock: the hub is made before it, so a run waiting
 * for it waits for another's choice, not for its namespaces. */
static int take_subnet(struct ash_sandbox *sb, int gw_idx, ash_error_t *err)
{
    int lock = open(ASH_SANDBOX_SUBNET_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0)
        return ash_error(err, errno, "cannot open %s", ASH_SANDBOX_SUBNET_LOCK);
    int ret = -1;
    if (flock(lock, LOCK_EX) < 0) {
        ash_error(err, errno, "cannot lock %s", ASH_SANDBOX_SUBNET_LOCK);
        goto out;
    }
    if (sb->given_subnet)
        sb->subnet = sb->given_subnet;
    else if (choose_subnet(sb->nl, sb->run_id, &sb->subnet, err) < 0)
        goto out;
    addr_str(sb->subnet, 1, sb->gateway);
    char net[INET_ADDRSTRLEN];
    addr_str(sb->subnet, 0, net);
    snprintf(sb->subnet_str, sizeof sb->subnet_str, "%s/24", net);
    /* One gateway on the fleet's overlay: the coordinator's (its DNS server,
     * "aftershock"); an agent's hub only switches, its gateway link has no address. */
    uint32_t gw = htonl(ntohl(sb->subnet) | 1u);
    if (!sb->given_subnet && ash_nl_addr4_add(sb->nl, gw_idx, gw, 24, err) < 0)
        goto out;
    ret = 0;
out:
    close(lock); /* also releases the lock: the address is visible to the next run now */
    return ret;
}

/* The hub: a named network namespace with the bridge (no address, IPv4
 * forwarding off, no IPv6 address: it only switches) and the uplink, a veth
 * made from the hub whose hub end is a port of the bridge and whose other end,
 * the gateway link, is put in the root and carries the gateway address. */
static int build_hub(struct ash_sandbox *sb, ash_error_t *err)
{
    if (ash_mkdir_p(ASH_DEFAULT_STATE_DIR, 0755, err) < 0)
        return -1;
    int ret = -1, root = -1, gw_idx = 0;
    sb->hub_made = true; /* journaled by journal_all */
    root = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (root < 0) {
        ash_error(err, errno, "cannot open /proc/thread-self/ns/net");
        goto out;
    }
    if (ash_netns_create(sb->hub, &sb->hub_fd, err) < 0 || ash_nl_open_in(sb->hub_fd, &sb->hub_nl, err) < 0)
        goto out;
    if (ash_nl_bridge_add(sb->hub_nl, sb->bridge, false, &sb->bridge_ifindex, err) < 0)
        goto out;
    if (ash_nl_link_forwarding4(sb->hub_nl, sb->bridge_ifindex, false, err) < 0) {
        ash_error_wrap(err, "cannot close the sandbox's bridge %s", sb->bridge);
        goto out;
    }
    ash_nl_link_ipv6_noaddr(sb->hub_nl, sb->bridge_ifindex, NULL);
    if (ash_nl_link_set_up(sb->hub_nl, sb->bridge_ifindex, true, err) < 0)
        goto out;
    int up_idx = 0;
    if (ash_nl_veth_add(sb->hub_nl, sb->uplink, sb->gw_link, root, sb->bridge_ifindex, true, err) < 0 ||
        ash_nl_link_index(sb->hub_nl, sb->uplink, &up_idx, err) < 0 ||
        ash_nl_link_index(sb->nl, sb->gw_link, &gw_idx, err) < 0)
        goto out;
    /* No IPv6 address of the hub's own either (the uplink has no carrier until
     * the gateway link is up, so none was made yet): as when the gateway was
     * the bridge, nothing but the gateway link speaks for the root here. */
    if (up_idx > 0)
        ash_nl_link_ipv6_noaddr(sb->hub_nl, up_idx, NULL);
    if (gw_idx <= 0) {
        ash_error(err, ENODEV, "the sandbox's gateway link %s is not in this network namespace", sb->gw_link);
        goto out;
    }
    if (close_gateway_link(sb, gw_idx, err) < 0)
        goto out;
    if (take_subnet(sb, gw_idx, err) < 0)
        goto out;
    if (ash_nl_link_set_up(sb->nl, gw_idx, true, err) < 0)
        goto out;
    /* Hosts have a default route via the gateway: belt and braces over its
     * forwarding flag, a table in the root that drops anything forwarded from
     * the gateway link out of the subnet (or into it from outside). Named like
     * the bridge, journaled already, made by fw_thread while the hosts are built. */
    sb->fw_made = true;
    ret = 0;
out:
    if (root >= 0)
        close(root);
    return ret;
}

/* The gateway link's deletion, on a thread of its own that the teardown
 * does not join: the request returns only after the kernel's RCU waits and
 * the release of the device (and of its peer, a port of the hub's bridge),
 * but the link, its address and its routes are gone before, when the kernel
 * announces the removal, which is what the teardown waits for
 * (wait_links_gone). The thread owns its socket; the last of it and the
 * teardown to let go frees this. If the process exits first, the kernel
 * still finishes the request. */
struct link_del {
    struct ash_nl *nl;
    char name[IF_NAMESIZE_ASH];
    atomic_bool failed;
    atomic_int refs;
};

static void link_del_put(struct link_del *bd)
{
    if (bd && atomic_fetch_sub(&bd->refs, 1) == 1) {
        ash_nl_close(bd->nl);
        free(bd);
    }
}

static void *link_del_thread(void *arg)
{
    struct link_del *bd = arg;
    if (ash_nl_link_delete_name(bd->nl, bd->name, NULL) < 0)
        atomic_store(&bd->failed, true); /* the teardown then deletes it itself, and says why not */
    link_del_put(bd);
    return NULL;
}

/* Start deleting the link `name` in the root; NULL when no thread could take
 * it (the teardown's wait then deletes it). */
static struct link_del *link_del_start(const char *name)
{
    struct link_del *bd = calloc(1, sizeof *bd);
    if (!bd)
        return NULL;
    snprintf(bd->name, sizeof bd->name, "%s", name);
    atomic_init(&bd->failed, false);
    atomic_init(&bd->refs, 2);
    pthread_attr_t a;
    pthread_t t;
    bool ok = ash_nl_open(&bd->nl, NULL) == 0 && pthread_attr_init(&a) == 0;
    if (ok) {
        ok = pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) == 0 &&
             pthread_create(&t, &a, link_del_thread, bd) == 0;
        pthread_attr_destroy(&a);
    }
    if (!ok) {
        ash_nl_close(bd->nl);
        free(bd);
        return NULL;
    }
    return bd;
}

struct fw_add {
    struct ash_sandbox *sb;
    int ret;
    ash_error_t err;
};

/* libnftables takes about 10 ms for the table: overlap it with the hosts. */
static void *fw_thread(void *arg)
{
    struct fw_add *f = arg;
    f->ret = ash_sandbox_fw_add(f->sb->bridge, f->sb->gw_link, f->sb->subnet_str, &f->err);
    return NULL;
}

static void release_host_ns(struct ash_host *h)
{
    ash_nl_close(h->nl);
    h->nl = NULL;
    if (h->ns.net_fd >= 0)
        ash_nft_forget(h->ns.net_fd); /* its nftables socket would keep the namespace alive */
    ash_ns_host_close(&h->ns);
}

/* Teardown steps per host, run by parallel_hosts: false on failure (printed). */
static bool release_host(struct ash_host *h)
{
    ash_error_t e = {0};
    release_host_ns(h);
    if (h->ns_made && ash_netns_delete(h->netns, &e) < 0) {
        ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock: sandbox teardown: %s\n", e.msg);
        return false;
    }
    return true;
}

/* The hub's socket, fd and name: once the gateway link is deleted and the
 * hosts' namespaces are dropped, nothing else holds it, and the kernel frees
 * it with its bridge. False on failure (printed). */
static bool release_hub(struct ash_sandbox *sb)
{
    ash_nl_close(sb->hub_nl);
    sb->hub_nl = NULL;
    if (sb->hub_fd >= 0) {
        ash_nft_forget(sb->hub_fd); /* a socket kept for it would keep it alive */
        close(sb->hub_fd);
    }
    sb->hub_fd = -1;
    ash_error_t e = {0};
    if (sb->hub_made && ash_netns_delete(sb->hub, &e) < 0) {
        ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock: sandbox teardown: %s\n", e.msg);
        return false;
    }
    return true;
}

static bool destroy_host_cgroup(struct ash_host *h)
{
    ash_error_t e = {0};
    if (h->cg_made && ash_cgroup_destroy(&h->cg, &e) < 0) {
        ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock: sandbox teardown: %s\n", e.msg);
        return false;
    }
    return true;
}

struct host_work {
    struct ash_sandbox *sb;
    bool (*fn)(struct ash_host *h);
    atomic_size_t next;
    atomic_bool failed;
};

static void *host_worker(void *arg)
{
    struct host_work *w = arg;
    for (size_t i; (i = atomic_fetch_add(&w->next, 1)) < w->sb->n;)
        if (!w->fn(&w->sb->hosts[i]))
            atomic_store(&w->failed, true);
    return NULL;
}

/* fn for every host on a few threads: unmounting a namespace's name or
 * removing a cgroup mostly waits for the kernel (RCU, cgroup offlining), and
 * those waits overlap. True when every call succeeded. */
static bool parallel_hosts(struct ash_sandbox *sb, bool (*fn)(struct ash_host *h))
{
    struct host_work w = {.sb = sb, .fn = fn};
    atomic_init(&w.next, 0);
    atomic_init(&w.failed, false);
    pthread_t th[NET_WORKERS];
    size_t nth = 0;
    for (; nth < NET_WORKERS && nth + 1 < sb->n; nth++)
        if (pthread_create(&th[nth], NULL, host_worker, &w) != 0)
            break;
    host_worker(&w);
    for (size_t t = 0; t < nth; t++)
        pthread_join(th[t], NULL);
    return !atomic_load(&w.failed);
}

void ash_sandbox_destroy(struct ash_sandbox *sb)
{
    if (!sb)
        return;
    ash_error_t e = {0};
    /* 1. Processes: kill every host at once, then wait (they hold namespaces). */
    for (size_t i = 0; i < sb->n; i++)
        if (sb->hosts[i].cg_made)
            ash_cgroup_kill(&sb->hosts[i].cg, NULL);
    for (size_t i = 0; i < sb->n; i++)
        if (sb->hosts[i].cg_made)
            ash_cgroup_wait_empty(&sb->hosts[i].cg, 5 * ASH_NS_PER_S, NULL);
    /* 2. Namespaces: drop every fd, socket and name; the kernel then removes
     *    them and their veths in one batch, in the background (deleting veths
     *    one by one would cost an RCU grace period each). */
    bool ns_ok = parallel_hosts(sb, release_host);
    /* 3. The gateway link, on a thread (link_del_start), while the hub is
     *    dropped and the cgroups and files go: the hub's bridge, uplink and
     *    the hosts' ends of their veths go with the hub namespace, in the
     *    kernel's background cleanup, never on this path (deleting a bridge
     *    holds the RTNL lock for tens of ms). */
    struct link_del *ld = sb->hub_made && sb->nl ? link_del_start(sb->gw_link) : NULL;
    bool hub_ok = release_hub(sb);
    /* 4. While the kernel works on the batch: cgroups and files. */
    bool cg_ok = parallel_hosts(sb, destroy_host_cgroup);
    if (cg_ok)
        journal_done(sb, &sb->j_cgroups);
    if (sb->parent_made && ash_cgroup_destroy(&sb->parent_cg, &e) == 0)
        journal_done(sb, &sb->j_parent);
    if (sb->files_made && remove_files_dir(sb->files_dir, sb->run_id, &e) >= 0)
        journal_done(sb, &sb->j_files);
    if (ns_ok)
        journal_done(sb, &sb->j_netns);
    /* 5. Return only once the gateway link is gone too: nothing of the run is
     *    left in the root but the guard table, which goes only then: without
     *    it, what the dying hosts still send would be forwarded out while the
     *    link lives (and a peer outside could be left retransmitting to them,
     *    keeping its namespace alive). */
    bool link_gone = !sb->hub_made;
    if (sb->hub_made && sb->nl) {
        atomic_bool no_thread = true;
        int r = wait_links_gone(sb->nl, NULL, sb->gw_link, ld ? &ld->failed : &no_thread, 5 * ASH_NS_PER_S, &e);
        if (r < 0)
            ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock: sandbox teardown: %s\n", e.msg);
        link_gone = r == 0;
        if (link_gone && hub_ok)
            journal_done(sb, &sb->j_hub);
    }
    link_del_put(ld);
    if (sb->fw_made && link_gone) {
        if (ash_sandbox_fw_delete(sb->bridge, &e) < 0)
            ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock: sandbox teardown: %s\n", e.msg);
        else
            journal_done(sb, &sb->j_fw);
    }
    /* Records of objects never begun (a build that failed early): nothing to undo. */
    bool any_ns = false, any_cg = false;
    for (size_t i = 0; i < sb->n; i++)
        any_ns = any_ns || sb->hosts[i].ns_made, any_cg = any_cg || sb->hosts[i].cg_made;
    if (!sb->files_made)
        journal_done(sb, &sb->j_files);
    if (!sb->hub_made)
        journal_done(sb, &sb->j_hub);
    if (!sb->fw_made)
        journal_done(sb, &sb->j_fw);
    if (!sb->parent_made)
        journal_done(sb, &sb->j_parent);
    if (!any_ns)
        journal_done(sb, &sb->j_netns);
    if (!any_cg)
        journal_done(sb, &sb->j_cgroups);
    if (sb->j && sb->n_done)
        ash_journal_done_many(sb->j, sb->done, sb->n_done, NULL);
    ash_nl_close(sb->nl);
    ash_nl_close(sb->hub_nl); /* closed by release_hub unless the teardown began without it */
    free(sb->hosts);
    free(sb->table);
    free(sb);
}

void ash_sandbox_names(const char *run_id, size_t index, const char *host, struct ash_sandbox_names *out)
{
    snprintf(out->bridge, sizeof out->bridge, "ash-%s", run_id);
    /* A host's namespace is ash-<run>-<host>: a run id has no '-', so no host's is the hub's. */
    snprintf(out->hub, sizeof out->hub, "ash-%s", run_id);
    snprintf(out->gateway_link, sizeof out->gateway_link, "ash%.8sg", run_id);
    snprintf(out->uplink, sizeof out->uplink, "ash%.8su", run_id);
    snprintf(out->veth_prefix, sizeof out->veth_prefix, "ash%.8sv", run_id);
    snprintf(out->netns, sizeof out->netns, "ash-%s-%s", run_id, host);
    snprintf(out->veth, sizeof out->veth, "%s%zu", out->veth_prefix, index);
    snprintf(out->parent_cgroup, sizeof out->parent_cgroup, "ash-%s", run_id);
    snprintf(out->cgroup, sizeof out->cgroup, "ash-%s/%s", run_id, host);
}

int ash_sandbox_create_in(const struct ash_scenario *sc, const char *run_id, const char *run_dir, struct ash_journal *j,
                          struct ash_sandbox **out, ash_error_t *err)
{
    return ash_sandbox_create_part(sc, run_id, run_dir, j, NULL, out, err);
}

static bool built_here(const struct ash_host_spec *h, const struct ash_sandbox_part *part)
{
    const char *node = part ? part->node : NULL;
    return node ? h->node && strcmp(h->node, node) == 0 : !h->node;
}

int ash_sandbox_create_part(const struct ash_scenario *sc, const char *run_id, const char *run_dir,
                            struct ash_journal *j, const struct ash_sandbox_part *part, struct ash_sandbox **out,
                            ash_error_t *err)
{
    if (!valid_run_id(run_id))
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL,
                               "sandbox: run id '%s' must be 1-11 letters or digits (it names links)", run_id);
    if (sc->n_hosts == 0)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "sandbox: the scenario has no hosts");
    if (sc->n_hosts > MAX_HOSTS)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "sandbox: at most %d hosts (one /24)", MAX_HOSTS);
    if (geteuid() != 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EPERM,
                               "sandbox mode needs root (namespaces, links and cgroups are made for the hosts)");
    struct ash_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return ash_error(err, ENOMEM, "sandbox");
    sb->hosts = calloc(sc->n_hosts, sizeof *sb->hosts);
    sb->table = calloc(sc->n_hosts, sizeof *sb->table);
    if (!sb->hosts || !sb->table) {
        free(sb->hosts);
        free(sb->table);
        free(sb);
        return ash_error(err, ENOMEM, "sandbox");
    }
    sb->given_subnet = part ? part->subnet : 0;
    sb->j = j;
    sb->mnt_base = -1;
    sb->hub_fd = -1;
    snprintf(sb->run_id, sizeof sb->run_id, "%s", run_id);
    struct ash_sandbox_names nm;
    ash_sandbox_names(run_id, 0, "", &nm);
    snprintf(sb->bridge, sizeof sb->bridge, "%s", nm.bridge);
    snprintf(sb->hub, sizeof sb->hub, "%s", nm.hub);
    snprintf(sb->gw_link, sizeof sb->gw_link, "%s", nm.gateway_link);
    snprintf(sb->uplink, sizeof sb->uplink, "%s", nm.uplink);
    snprintf(sb->veth_prefix, sizeof sb->veth_prefix, "%s", nm.veth_prefix);
    /* Named by the run id, never by anything two runs can share (a run directory, a
     * second-resolution stamp): two sandboxes must never write each other's hosts or
     * resolv.conf. */
    snprintf(sb->files_dir, sizeof sb->files_dir, "%s/sandbox-%s", run_dir ? run_dir : ASH_DEFAULT_STATE_DIR, run_id);
    snprintf(sb->hosts_dir, sizeof sb->hosts_dir, "%s/hosts", sb->files_dir);
    sb->n_table = sc->n_hosts;
    for (size_t i = 0; i < sc->n_hosts; i++) {
        const char *name = sc->hosts[i].name;
        if (strlen(name) >= sizeof sb->table[i].name || strlen(name) > 63)
            goto bad_name;
        snprintf(sb->table[i].name, sizeof sb->table[i].name, "%s", name);
        if (!built_here(&sc->hosts[i], part))
            continue;
        struct ash_host *h = &sb->hosts[sb->n++];
        h->index = i;
        h->sb = sb;
        h->ns = (struct ash_ns_host){-1, -1, -1};
        snprintf(h->name, sizeof h->name, "%s", name);
        ash_sandbox_names(run_id, i, name, &nm);
        snprintf(h->netns, sizeof h->netns, "%s", nm.netns);
        snprintf(h->veth, sizeof h->veth, "%s", nm.veth);
        for (size_t k = 0; k < 4; k++)
            h->cg.procs_fd[k] = -1;
    }

    if (ash_cgroup_detect(NULL, &sb->cgsys, err) < 0)
        goto fail;
    if (ash_netns_prepare_dir(err) < 0)
        goto fail;
    if (ash_nl_open(&sb->nl, err) < 0)
        goto fail;
    if (journal_all(sb, sc, nm.parent_cgroup, err) < 0)
        goto fail;
    sb->files_made = true;
    if (make_files_dir(sb, err) < 0)
        goto fail;
    if (build_hub(sb, err) < 0)
        goto fail;
    /* Addresses by the host's place in the scenario: the same plan on every machine of a fleet. */
    for (size_t i = 0; i < sb->n_table; i++)
        addr_str(sb->subnet, (unsigned)(i + 2), sb->table[i].addr);
    for (size_t i = 0; i < sb->n; i++) {
        sb->hosts[i].addr = htonl(ntohl(sb->subnet) | (unsigned)(sb->hosts[i].index + 2));
        addr_str(sb->subnet, (unsigned)(sb->hosts[i].index + 2), sb->hosts[i].addr_str);
    }
    if (write_shared_files(sb, err) < 0)
        goto fail;
    sb->parent_made = true; /* journaled before any host's cgroup, so undone after them */
    struct fw_add fw = {.sb = sb};
    pthread_t fwth;
    bool fw_threaded = pthread_create(&fwth, NULL, fw_thread, &fw) == 0;
    if (!fw_threaded)
        fw_thread(&fw);
    int hosts_ret = build_hosts(sb, sc, err);
    if (fw_threaded)
        pthread_join(fwth, NULL);
    if (hosts_ret < 0)
        goto fail;
    if (fw.ret < 0) {
        *err = fw.err;
        goto fail;
    }
    *out = sb;
    return 0;
bad_name:
    ash_error_class(err, ASH_ERR_USAGE, EINVAL, "sandbox: host names must be shorter than 64 characters");
fail:
    ash_sandbox_destroy(sb);
    return -1;
}

int ash_sandbox_create(const struct ash_scenario *sc, const char *run_id, struct ash_journal *j,
                       struct ash_sandbox **out, ash_error_t *err)
{
    return ash_sandbox_create_in(sc, run_id, NULL, j, out, err);
}

/* ---- accessors ---- */

struct ash_host *ash_sandbox_host(struct ash_sandbox *sb, const char *name)
{
    for (size_t i = 0; sb && name && i < sb->n; i++)
        if (strcmp(sb->hosts[i].name, name) == 0)
            return &sb->hosts[i];
    return NULL;
}

size_t ash_sandbox_n_hosts(const struct ash_sandbox *sb)
{
    return sb->n;
}
struct ash_host *ash_sandbox_host_at(struct ash_sandbox *sb, size_t i)
{
    return i < sb->n ? &sb->hosts[i] : NULL;
}
const char *ash_sandbox_bridge(const struct ash_sandbox *sb)
{
    return sb->bridge;
}
const char *ash_sandbox_gateway(const struct ash_sandbox *sb)
{
    return sb->gateway;
}
const char *ash_sandbox_hub_netns(const struct ash_sandbox *sb)
{
    return sb->hub;
}
int ash_sandbox_hub_fd(const struct ash_sandbox *sb)
{
    return sb->hub_fd;
}
struct ash_overlay_hub ash_sandbox_overlay_hub(const struct ash_sandbox *sb)
{
    return (struct ash_overlay_hub){.bridge = sb->bridge, .netns = sb->hub, .fd = sb->hub_fd};
}
const char *ash_sandbox_gateway_link(const struct ash_sandbox *sb)
{
    return sb->gw_link;
}
const char *ash_sandbox_subnet(const struct ash_sandbox *sb)
{
    return sb->subnet_str;
}

size_t ash_sandbox_n_names(const struct ash_sandbox *sb)
{
    return sb->n_table;
}

const char *ash_sandbox_name_at(const struct ash_sandbox *sb, size_t i, const char **addr)
{
    if (i >= sb->n_table)
        return NULL;
    *addr = sb->table[i].addr;
    return sb->table[i].name;
}

const char *ash_sandbox_address(const struct ash_sandbox *sb, const char *name)
{
    for (size_t i = 0; name && i < sb->n_table; i++)
        if (strcmp(sb->table[i].name, name) == 0)
            return sb->table[i].addr;
    return NULL;
}

uint32_t ash_sandbox_subnet_addr(const struct ash_sandbox *sb)
{
    return sb->subnet;
}

const char *ash_host_name(const struct ash_host *h)
{
    return h->name;
}
const char *ash_host_etc_dir(const struct ash_host *h)
{
    return h->etc_dir;
}
const char *ash_host_address(const struct ash_host *h)
{
    return h->addr_str;
}
const char *ash_host_netns_name(const struct ash_host *h)
{
    return h->netns;
}
const char *ash_host_veth(const struct ash_host *h)
{
    return h->veth;
}
int ash_host_netns_fd(const struct ash_host *h)
{
    return h->ns.net_fd;
}
struct ash_cgroup *ash_host_cgroup(struct ash_host *h)
{
    return &h->cg;
}
bool ash_host_links_are_down(const struct ash_host *h)
{
    return h->links_down;
}

const char *ash_host_lookup(const struct ash_host *h, const char *name)
{
    if (strcmp(name, "localhost") == 0)
        return "127.0.0.1";
    if (strcmp(name, "aftershock") == 0)
        return h->sb->gateway;
    for (size_t i = 0; i < h->sb->n_table; i++)
        if (strcmp(h->sb->table[i].name, name) == 0)
            return h->sb->table[i].addr;
    return NULL;
}

/* ---- inside a host ---- */

int ash_host_enter(const struct ash_host *h)
{
    if (ash_cgroup_join_self(&h->cg) < 0)
        return -1;
    /* setns(CLONE_NEWNS) resets the working directory to the namespace's
     * root; keep the caller's through an fd (it stays valid across namespaces). */
    int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (setns(h->ns.net_fd, CLONE_NEWNET) < 0)
        goto fail;
    if (h->ns.uts_fd >= 0 && setns(h->ns.uts_fd, CLONE_NEWUTS) < 0)
        goto fail;
    if (h->ns.mnt_fd >= 0 && setns(h->ns.mnt_fd, CLONE_NEWNS) < 0)
        goto fail;
    if (cwd >= 0) {
        if (fchdir(cwd) < 0) {
            /* keep "/" */
        }
        close(cwd);
    }
    return 0;
fail:
    if (cwd >= 0) {
        int e = errno;
        close(cwd);
        errno = e;
    }
    return -1;
}

int ash_host_run_in_netns(const struct ash_host *h, int (*fn)(void *), void *arg)
{
    return ash_ns_run(h->ns.net_fd, CLONE_NEWNET, fn, arg);
}

int ash_host_links_down(struct ash_host *h, ash_error_t *err)
{
    struct ash_sandbox *sb = h->sb;
    int idx;
    if (ash_nl_link_set_up(h->nl, h->eth0, false, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    if (ash_nl_link_index(sb->hub_nl, h->veth, &idx, err) < 0)
        return -1;
    if (idx > 0 && ash_nl_link_set_up(sb->hub_nl, idx, false, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    h->links_down = true;
    return 0;
}

int ash_host_links_up(struct ash_host *h, ash_error_t *err)
{
    struct ash_sandbox *sb = h->sb;
    int idx;
    if (ash_nl_link_index(sb->hub_nl, h->veth, &idx, err) < 0)
        return -1;
    if (idx > 0 && ash_nl_link_set_up(sb->hub_nl, idx, true, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    if (ash_nl_link_set_up(h->nl, h->eth0, true, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    /* Taking eth0 down flushed the default route through it. */
    uint32_t gw = htonl(ntohl(sb->subnet) | 1u);
    if (ash_nl_route4_default(h->nl, gw, h->eth0, err) < 0 && err->code != EEXIST)
        return ash_error_wrap(err, "host %s", h->name);
    ash_error_clear(err);
    h->links_down = false;
    return 0;
}

int ash_host_freeze(struct ash_host *h, ash_error_t *err)
{
    if (ash_cgroup_freeze(&h->cg, 5 * ASH_NS_PER_S, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    return 0;
}

int ash_host_thaw(struct ash_host *h, ash_error_t *err)
{
    if (ash_cgroup_thaw(&h->cg, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    return 0;
}

int ash_host_kill_all(struct ash_host *h, ash_error_t *err)
{
    if (ash_cgroup_kill(&h->cg, err) < 0 || ash_cgroup_wait_empty(&h->cg, 5 * ASH_NS_PER_S, err) < 0)
        return ash_error_wrap(err, "host %s", h->name);
    return 0;
}

/* ---- recover: undo from the records alone ---- */

static int undo_one_netns(const char *name, ash_error_t *err)
{
    if (!name || strncmp(name, "ash-", 4) != 0)
        return ash_error(err, EINVAL, "sandbox.netns record without an ash- namespace name");
    return ash_netns_delete(name, err);
}

/* {"netns": NAME} (one host, older journals) or {"netns": [NAME...]} (every host). */
static int undo_netns(json_t *rec, ash_error_t *err)
{
    json_t *v = json_object_get(rec, "netns");
    if (!json_is_array(v))
        return undo_one_netns(json_string_value(v), err);
    int ret = 0;
    size_t i;
    json_t *name;
    json_array_foreach(v, i, name)
    {
        ash_error_t e = {0};
        if (undo_one_netns(json_string_value(name), &e) < 0 && ret == 0) {
            *err = e;
            ret = -1;
        }
    }
    return ret;
}

/* sandbox.link: a bridge in the root namespace, as runs made it before the hub
 * (their journals are still recovered). */
static int undo_link(json_t *rec, ash_error_t *err)
{
    const char *bridge = json_string_value(json_object_get(rec, "bridge"));
    const char *prefix = json_string_value(json_object_get(rec, "veth_prefix"));
    if (!bridge || !prefix || strncmp(bridge, "ash-", 4) != 0 || strncmp(prefix, "ash", 3) != 0)
        return ash_error(err, EINVAL, "sandbox.link record without ash names");
    struct ash_nl *nl;
    if (ash_nl_open(&nl, err) < 0)
        return -1;
    /* Neither the bridge nor a veth here: nothing is removed, and recover says so rather
     * than "removed" (run from another network namespace than the run's, it would
     * otherwise claim links it never saw, and the bridge would stay where it was). */
    int bidx = 0;
    char **names = NULL;
    size_t n = 0;
    int r = ash_nl_link_index(nl, bridge, &bidx, err);
    if (r == 0)
        r = ash_nl_link_names(nl, prefix, &names, &n, err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (r == 0 && bidx == 0 && n == 0) {
        char why[200];
        snprintf(why, sizeof why,
                 "no bridge %s nor veth %s* is here (removed already, or made in another network namespace: "
                 "remove it there with 'ip link del %s')",
                 bridge, prefix, bridge);
        json_object_set_new(rec, "nothing_to_undo", json_string(why));
        ash_nl_close(nl);
        return 0;
    }
    /* Newer records (namespaces) were undone first: their veths are on their way out. */
    if (r == 0)
        r = wait_links_gone(nl, prefix, NULL, NULL, 5 * ASH_NS_PER_S, err);
    if (r == 0)
        r = ash_nl_link_delete_name(nl, bridge, err);
    ash_nl_close(nl);
    return r;
}

/* sandbox.hub: {"hub": its namespace, "link": gateway link, "bridge": its bridge}
 * ("hub", not "netns": the link is in the namespace recover runs in).
 * The gateway link is deleted (it would go with the hub, but only once the
 * kernel gets to the namespace), then the hub's name; the kernel frees the
 * hub, its bridge and the hosts' ends of their veths once nothing holds it
 * (the records of what ran in it, newer, were undone first). */
static int undo_hub(json_t *rec, ash_error_t *err)
{
    const char *ns = json_string_value(json_object_get(rec, "hub"));
    const char *link = json_string_value(json_object_get(rec, "link"));
    if (!ns || !link || strncmp(ns, "ash-", 4) != 0 || strchr(ns, '/') || strncmp(link, "ash", 3) != 0 ||
        strlen(link) >= IF_NAMESIZE_ASH)
        return ash_error(err, EINVAL, "sandbox.hub record without ash names");
    struct ash_nl *nl;
    if (ash_nl_open(&nl, err) < 0)
        return -1;
    int idx = 0;
    int r = ash_nl_link_index(nl, link, &idx, err);
    bool named = ash_netns_exists(ns);
    if (r == 0 && idx == 0 && !named) {
        /* As for sandbox.link: from another network or mount namespace than the
         * run's, recover says it found nothing rather than "removed". */
        char why[300];
        snprintf(why, sizeof why,
                 "no hub namespace %s nor link %s is here (removed already, or made in another network or mount "
                 "namespace: remove them there with 'ip link del %s; ip netns del %s')",
                 ns, link, link, ns);
        json_object_set_new(rec, "nothing_to_undo", json_string(why));
        ash_nl_close(nl);
        return 0;
    }
    if (r == 0 && idx > 0 && ash_nl_link_delete(nl, idx, err) < 0)
        r = ash_error_wrap(err, "link %s", link);
    ash_nl_close(nl);
    if (named && ash_netns_delete(ns, r < 0 ? NULL : err) < 0)
        r = -1;
    return r;
}

static int undo_one_cgroup(json_t *rec, ash_error_t *err)
{
    struct ash_cgroup cg;
    if (ash_cgroup_from_json(rec, &cg, err) < 0)
        return -1;
    return ash_cgroup_destroy(&cg, err);
}

/* One cgroup's paths, or {"cgroups": [...]} for every host: all are killed
 * first, so no host waits on another's processes, then removed. */
static int undo_cgroup(json_t *rec, ash_error_t *err)
{
    json_t *list = json_object_get(rec, "cgroups");
    if (!json_is_array(list))
        return undo_one_cgroup(rec, err);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        struct ash_cgroup cg;
        if (ash_cgroup_from_json(c, &cg, NULL) == 0)
            ash_cgroup_kill(&cg, NULL);
    }
    int ret = 0;
    json_array_foreach(list, i, c)
    {
        ash_error_t e = {0};
        if (undo_one_cgroup(c, &e) < 0 && ret == 0) {
            *err = e;
            ret = -1;
        }
    }
    return ret;
}

static int undo_files(json_t *rec, ash_error_t *err)
{
    const char *dir = json_string_value(json_object_get(rec, "dir"));
    const char *run = json_string_value(json_object_get(rec, "run"));
    if (!dir || dir[0] != '/')
        return ash_error(err, EINVAL, "sandbox.files record without an absolute directory");
    if (!run || !valid_run_id(run))
        return ash_error(err, EINVAL, "sandbox.files record without a valid run id");
    return remove_files_dir(dir, run, err) < 0 ? -1 : 0;
}

static int undo_fw(json_t *rec, ash_error_t *err)
{
    const char *table = json_string_value(json_object_get(rec, "table"));
    if (!table || strncmp(table, "ash-", 4) != 0)
        return ash_error(err, EINVAL, "sandbox.fw record without an ash- table name");
    /* As for the links: a table that is not here is said to be not here, not "removed"
     * (recover run in another network namespace than the run's). */
    int there = ash_nft_table_exists(-1, "inet", table, err);
    if (there < 0)
        return -1;
    if (!there) {
        char why[200];
        snprintf(why, sizeof why,
                 "no nftables table inet %s is here (removed already, or made in another network namespace: "
                 "remove it there with 'nft delete table inet %s')",
                 table, table);
        json_object_set_new(rec, "nothing_to_undo", json_string(why));
        return 0;
    }
    return ash_sandbox_fw_delete(table, err);
}

const struct ash_undo_op ash_sandbox_undo_ops[] = {
    {"sandbox.fw", undo_fw, false, "removed the sandbox's nftables table {table}"},
    {"sandbox.netns", undo_netns, false, "removed network namespace(s) {netns}"},
    {"sandbox.link", undo_link, false, "removed bridge {bridge} and its veths ({veth_prefix}*)"},
    {"sandbox.hub", undo_hub, false,
     "removed gateway link {link} and hub network namespace {hub} (its bridge {bridge} and the hosts' veths go "
     "with it)"},
    {"sandbox.cgroup", undo_cgroup, false, "killed what ran in and removed {cgroup}"},
    {"sandbox.files", undo_files, false, "removed the run's files in {dir}"},
    {"sandbox.overlay", ash_overlay_undo, false, "removed the fleet overlay link {link}"},
    {NULL, NULL, false, NULL},
};
