/* nftables through libnftables in a chosen network namespace: run batches, delete and query tables. */
#include "sys/nft.h"
#include "sys/gil.h"
#include "sys/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One libnftables context per namespace that has tables of ours, kept from
 * the first ash_nft_run until ash_nft_forget: a fresh context costs ~40 us to
 * make and its first command ~110 us more than later ones (libnftables fills
 * its caches), so a fault injected and reverted again and again in one
 * namespace pays that once (bench_network: 165 us -> ~55 us per add). Its
 * socket is bound to the namespace it was made in, so it is keyed by the
 * namespace's identity, not by the caller's fd. The socket keeps the
 * namespace alive, so whoever tears a namespace down forgets it first (the
 * sandbox does, per host): a host must be free to die with its veth. */
#define NFT_CACHE_MAX 16

struct nft_slot {
    dev_t dev;
    ino_t ino;
    struct nft_ctx *ctx; /* NULL: free slot */
};

static struct nft_slot slots[NFT_CACHE_MAX];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

struct nft_call {
    const char *cmds;
    bool json; /* keep the output, as JSON, in out (the caller frees it) */
    char *out;
    struct nft_ctx *ctx; /* in: a cached one, or NULL to make one; out: the one used */
    int rc;
    char msg[512];
};

static struct nft_ctx *ctx_new(void)
{
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (ctx) {
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
    }
    return ctx;
}

/* Runs on a thread inside the target namespace: a new context's netlink socket
 * is made there; a cached one is used there too, in case libnftables reopens
 * its socket. */
static int nft_call_here(void *arg)
{
    struct nft_call *c = arg;
    if (!c->ctx)
        c->ctx = ctx_new();
    if (!c->ctx) {
        snprintf(c->msg, sizeof c->msg, "cannot create an nftables context");
        c->rc = -1;
        return 0;
    }
    unsigned flags = nft_ctx_output_get_flags(c->ctx);
    if (c->json)
        nft_ctx_output_set_flags(c->ctx, flags | NFT_CTX_OUTPUT_JSON);
    c->rc = nft_run_cmd_from_buffer(c->ctx, c->cmds);
    if (c->json) {
        nft_ctx_output_set_flags(c->ctx, flags); /* a cached context is shared with plain commands */
        const char *o = nft_ctx_get_output_buffer(c->ctx);
        c->out = strdup(o ? o : "");
    }
    const char *e = nft_ctx_get_error_buffer(c->ctx); /* also empties the buffer for the next command */
    snprintf(c->msg, sizeof c->msg, "%s", e ? e : "");
    /* First line only: libnftables repeats the command with carets below it. */
    char *nl = strchr(c->msg, '\n');
    if (nl)
        *nl = '\0';
    nft_ctx_get_output_buffer(c->ctx); /* discard `list` output so it does not pile up */
    return 0;
}

static int call(int netns_fd, struct nft_call *c, ash_error_t *err)
{
    int r = netns_fd < 0 ? nft_call_here(c) : ash_ns_run(netns_fd, CLONE_NEWNET, nft_call_here, c);
    if (r < 0)
        return ash_error(err, errno, "nftables: cannot enter the network namespace");
    return 0;
}

/* The namespace's identity: nsfs dev + inode (an inode is not reused while
 * a cached socket keeps its namespace alive). */
static int ns_key(int netns_fd, dev_t *dev, ino_t *ino)
{
    struct stat s;
    int r = netns_fd < 0 ? stat("/proc/thread-self/ns/net", &s) : fstat(netns_fd, &s);
    if (r < 0)
        return -1;
    *dev = s.st_dev, *ino = s.st_ino;
    return 0;
}

static struct nft_slot *slot_find(dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < NFT_CACHE_MAX; i++)
        if (slots[i].ctx && slots[i].dev == dev && slots[i].ino == ino)
            return &slots[i];
    return NULL;
}

/* Closing an nftables socket while the kernel still has a deleted table to
 * destroy waits for that (the kernel frees it after an RCU grace period,
 * ~10-15 ms here), whoever made the delete; the table and its hooks are gone
 * at commit already. So a context is retired after a delete and freed by a
 * reaper thread once a grace period has passed since the last delete
 * (membarrier's global command is synchronize_rcu): then closing is quick,
 * and it happens under the lock, as libnftables has global state (its
 * interface cache) that two threads must not touch at once. Namespaces live
 * that much longer, which a sandbox teardown waits for anyway (it polls until
 * the kernel has removed the hosts' veths). At most RETIRED_MAX wait: past
 * that they are all freed at once (one wait), so that a loop of deletes
 * cannot pile up sockets. */
#define RETIRED_MAX 32

struct retired {
    struct nft_ctx *ctx;
    struct retired *next;
};

static struct retired *retired_list;
static size_t retired_n;
static unsigned long delete_seq; /* deletes made so far */
static bool reaper_running;

/* Called with slots_lock held. */
static void free_retired(void)
{
    while (retired_list) {
        struct retired *r = retired_list;
        retired_list = r->next;
        nft_ctx_free(r->ctx);
        free(r);
    }
    retired_n = 0;
}

static void *reaper(void *unused)
{
    pthread_mutex_lock(&slots_lock);
    while (retired_list) {
        unsigned long seen = delete_seq;
        pthread_mutex_unlock(&slots_lock);
        syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
        pthread_mutex_lock(&slots_lock);
        if (delete_seq == seen) /* else a newer delete: its table may still be waiting */
            free_retired();
    }
    reaper_running = false;
    pthread_mutex_unlock(&slots_lock);
    return NULL;
}

/* Called with slots_lock held. */
static void ctx_release(struct nft_ctx *ctx, bool after_delete)
{
    if (!ctx)
        return;
    if (after_delete && retired_n >= RETIRED_MAX)
        free_retired(); /* one wait frees them all */
    struct retired *r = after_delete ? malloc(sizeof *r) : NULL;
    if (!r) {
        nft_ctx_free(ctx);
        return;
    }
    *r = (struct retired){.ctx = ctx, .next = retired_list};
    retired_list = r;
    retired_n++;
    if (reaper_running)
        return;
    pthread_t t;
    pthread_attr_t a;
    bool ok = pthread_attr_init(&a) == 0;
    if (ok) {
        ok = pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) == 0 && pthread_create(&t, &a, reaper, NULL) == 0;
        pthread_attr_destroy(&a);
    }
    if (ok) {
        reaper_running = true;
        return;
    }
    /* No thread: free now, stall included. */
    retired_list = r->next;
    retired_n--;
    free(r);
    nft_ctx_free(ctx);
}

/* Run cmds with the namespace's cached context. keep: cache a new context
 * (ash_nft_run); deleting: a context not kept is retired rather than freed
 * (ash_nft_table_delete). Holds the lock throughout: a context is used by one
 * thread at a time. */
static int run_cached(int netns_fd, struct nft_call *c, bool keep, bool deleting, ash_error_t *err)
{
    dev_t dev = 0;
    ino_t ino = 0;
    bool keyed = ns_key(netns_fd, &dev, &ino) == 0;
    /* A table's delete waits for the kernel (milliseconds): the run lock is let go
     * meanwhile (sys/gil.h). slots_lock guards libnftables; it is never held while
     * the run lock is waited for (taken after letting go, released before taking back). */
    ash_gil_blocking_begin();
    pthread_mutex_lock(&slots_lock);
    struct nft_slot *s = keyed ? slot_find(dev, ino) : NULL;
    c->ctx = s ? s->ctx : NULL;
    int r = call(netns_fd, c, err);
    if (deleting)
        delete_seq++; /* a context closed from now on waits for this table: see ctx_release */
    if (!s && c->ctx) {
        struct nft_slot *free_slot = NULL;
        for (size_t i = 0; keep && keyed && !free_slot && i < NFT_CACHE_MAX; i++)
            if (!slots[i].ctx)
                free_slot = &slots[i];
        if (free_slot)
            *free_slot = (struct nft_slot){.dev = dev, .ino = ino, .ctx = c->ctx};
        else
            ctx_release(c->ctx, deleting);
    }
    pthread_mutex_unlock(&slots_lock);
    ash_gil_blocking_end();
    return r;
}

int ash_nft_run(int netns_fd, const char *cmds, ash_error_t *err)
{
    struct nft_call c = {.cmds = cmds};
    if (run_cached(netns_fd, &c, true, false, err) < 0)
        return -1;
    if (c.rc != 0)
        return ash_error(err, EINVAL, "nftables refused the rules: %s", c.msg[0] ? c.msg : "(no message)");
    return 0;
}

static bool msg_missing(const char *msg)
{
    return strstr(msg, "No such file") || strstr(msg, "does not exist");
}

int ash_nft_table_exists(int netns_fd, const char *family, const char *name, ash_error_t *err)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "list table %s %s", family, name);
    struct nft_call c = {.cmds = cmd};
    if (run_cached(netns_fd, &c, false, false, err) < 0)
        return -1;
    if (c.rc == 0)
        return 1;
    if (msg_missing(c.msg))
        return 0;
    return ash_error(err, EIO, "nftables: cannot list table %s %s: %s", family, name, c.msg);
}

/* One transaction, no look first: libnftables checks the table against its
 * cache and says "No such file or directory" when it is missing. */
int ash_nft_table_delete(int netns_fd, const char *family, const char *name, ash_error_t *err)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "delete table %s %s", family, name);
    struct nft_call c = {.cmds = cmd};
    if (run_cached(netns_fd, &c, false, true, err) < 0)
        return -1;
    if (c.rc == 0 || msg_missing(c.msg))
        return 0;
    return ash_error(err, EIO, "nftables: cannot delete table %s %s: %s", family, name, c.msg);
}

int ash_nft_table_packets(int netns_fd, const char *family, const char *name, uint64_t *packets, ash_error_t *err)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "list table %s %s", family, name);
    struct nft_call c = {.cmds = cmd, .json = true};
    *packets = 0;
    if (run_cached(netns_fd, &c, false, false, err) < 0) {
        free(c.out);
        return -1;
    }
    if (c.rc != 0) {
        free(c.out);
        if (msg_missing(c.msg))
            return 0;
        return ash_error(err, EIO, "nftables: cannot list table %s %s: %s", family, name, c.msg);
    }
    if (!c.out)
        return ash_error(err, ENOMEM, "nftables: the table's listing");
    /* {"nftables": [{"rule": {"expr": [..., {"counter": {"packets": N, ...}}, ...]}}, ...]} */
    json_error_t je;
    json_t *doc = json_loads(c.out, 0, &je);
    free(c.out);
    if (!doc)
        return ash_error(err, EIO, "nftables: cannot read the listing of table %s %s: %s", family, name, je.text);
    size_t i, k;
    json_t *item, *expr;
    json_array_foreach(json_object_get(doc, "nftables"), i, item)
    {
        json_array_foreach(json_object_get(json_object_get(item, "rule"), "expr"), k, expr)
        {
            json_t *n = json_object_get(json_object_get(expr, "counter"), "packets");
            if (json_is_integer(n))
                *packets += (uint64_t)json_integer_value(n);
        }
    }
    json_decref(doc);
    return 1;
}

void ash_nft_forget(int netns_fd)
{
    dev_t dev = 0;
    ino_t ino = 0;
    if (ns_key(netns_fd, &dev, &ino) < 0)
        return;
    pthread_mutex_lock(&slots_lock);
    struct nft_slot *s = slot_find(dev, ino);
    if (s) {
        /* Retired, not freed: a table deleted through it may still be on its way out. */
        ctx_release(s->ctx, true);
        s->ctx = NULL;
    }
    pthread_mutex_unlock(&slots_lock);
}
