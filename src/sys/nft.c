/* nftables in a chosen network namespace: a fault's table as one nf_tables
 * netlink batch (libnftnl + libmnl), deletes and queries over netlink too;
 * nft command text through libnftables where text is the input. */
#include "sys/nft.h"
#include "sys/gil.h"
#include "sys/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/membarrier.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Per namespace that has tables of ours, one netfilter netlink socket (the
 * faults' tables) and, when nft text was run there, one libnftables context,
 * kept until ash_nft_forget. A socket is bound to the namespace it was made
 * in: made once (entering the namespace costs a thread switch) and then used
 * from here, no namespace switch per change. A libnftables context costs
 * ~40 us to make and its first command ~110 us more than later ones (it fills
 * its caches). Both are keyed by the namespace's identity, not by the
 * caller's fd. They keep the namespace alive, so whoever tears a namespace
 * down forgets it first (the sandbox does, per host): a host must be free to
 * die with its veth. */
#define NFT_CACHE_MAX 16
/* Room for what one netlink read returns (mnl's MNL_SOCKET_BUFFER_SIZE is a run-time value). */
#define NL_BUF 8192

struct nft_slot {
    dev_t dev;
    ino_t ino;
    struct nft_ctx *ctx;   /* NULL: none yet */
    struct mnl_socket *nl; /* NULL: none yet; both NULL: free slot */
};

static struct nft_slot slots[NFT_CACHE_MAX];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t nl_seq; /* under slots_lock: every batch's sequence numbers are new */

struct nft_call {
    const char *cmds;
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
    c->rc = nft_run_cmd_from_buffer(c->ctx, c->cmds);
    const char *e = nft_ctx_get_error_buffer(c->ctx); /* also empties the buffer for the next command */
    snprintf(c->msg, sizeof c->msg, "%s", e ? e : "");
    /* First line only: libnftables repeats the command with carets below it. */
    char *nl = strchr(c->msg, '\n');
    if (nl)
        *nl = '\0';
    nft_ctx_get_output_buffer(c->ctx); /* discard any output so it does not pile up */
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
        if ((slots[i].ctx || slots[i].nl) && slots[i].dev == dev && slots[i].ino == ino)
            return &slots[i];
    return NULL;
}

static struct nft_slot *slot_new(dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < NFT_CACHE_MAX; i++)
        if (!slots[i].ctx && !slots[i].nl) {
            slots[i] = (struct nft_slot){.dev = dev, .ino = ino};
            return &slots[i];
        }
    return NULL;
}

/* Closing an nftables socket while the kernel still has a deleted table to
 * destroy waits for that (the kernel frees it after an RCU grace period,
 * ~10-15 ms here), whoever made the delete; the table and its hooks are gone
 * at commit already. So a socket or context is retired after a delete and
 * freed by a reaper thread once a grace period has passed since the last
 * delete (membarrier's global command is synchronize_rcu): then closing is
 * quick, and it happens under the lock, as libnftables has global state (its
 * interface cache) that two threads must not touch at once. Namespaces live
 * that much longer, which a sandbox teardown waits for anyway (it polls until
 * the kernel has removed the hosts' veths). At most RETIRED_MAX wait: past
 * that they are all freed at once (one wait), so that a loop of deletes
 * cannot pile up sockets. */
#define RETIRED_MAX 32

struct retired {
    struct nft_ctx *ctx;
    struct mnl_socket *nl;
    struct retired *next;
};

static struct retired *retired_list;
static size_t retired_n;
static unsigned long delete_seq; /* deletes made so far */
static bool reaper_running;

static void close_now(struct nft_ctx *ctx, struct mnl_socket *nl)
{
    if (ctx)
        nft_ctx_free(ctx);
    if (nl)
        mnl_socket_close(nl);
}

/* Called with slots_lock held. */
static void free_retired(void)
{
    while (retired_list) {
        struct retired *r = retired_list;
        retired_list = r->next;
        close_now(r->ctx, r->nl);
        free(r);
    }
    retired_n = 0;
}

static void *reaper(void *unused)
{
    (void)unused;
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
static void release(struct nft_ctx *ctx, struct mnl_socket *nl, bool after_delete)
{
    if (!ctx && !nl)
        return;
    if (after_delete && retired_n >= RETIRED_MAX)
        free_retired(); /* one wait frees them all */
    struct retired *r = after_delete ? malloc(sizeof *r) : NULL;
    if (!r) {
        close_now(ctx, nl);
        return;
    }
    *r = (struct retired){.ctx = ctx, .nl = nl, .next = retired_list};
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
    close_now(ctx, nl);
}

/* A table's delete waits for the kernel: the run lock is let go meanwhile
 * (sys/gil.h). slots_lock guards the cache and libnftables; it is never held
 * while the run lock is waited for (taken after letting go, released before
 * taking back). */
static void lock(void)
{
    ash_gil_blocking_begin();
    pthread_mutex_lock(&slots_lock);
}

static void unlock(void)
{
    pthread_mutex_unlock(&slots_lock);
    ash_gil_blocking_end();
}

int ash_nft_run(int netns_fd, const char *cmds, ash_error_t *err)
{
    dev_t dev = 0;
    ino_t ino = 0;
    bool keyed = ns_key(netns_fd, &dev, &ino) == 0;
    struct nft_call c = {.cmds = cmds};
    lock();
    struct nft_slot *s = keyed ? slot_find(dev, ino) : NULL;
    c.ctx = s ? s->ctx : NULL;
    int r = netns_fd < 0 ? nft_call_here(&c) : ash_ns_run(netns_fd, CLONE_NEWNET, nft_call_here, &c);
    int e = errno;
    if (c.ctx && !(s && s->ctx == c.ctx)) {
        if (!s && keyed)
            s = slot_new(dev, ino);
        if (s)
            s->ctx = c.ctx;
        else
            release(c.ctx, NULL, false);
    }
    unlock();
    if (r < 0)
        return ash_error(err, e, "nftables: cannot enter the network namespace");
    if (c.rc != 0)
        return ash_error(err, EINVAL, "nftables refused the rules: %s", c.msg[0] ? c.msg : "(no message)");
    return 0;
}

/* ---- netlink: the faults' tables ---- */

struct sock_make {
    struct mnl_socket *nl;
    int err;
};

/* Runs inside the target namespace: the socket stays bound to it. Acks carry
 * the header of the message they answer only (NETLINK_CAP_ACK) and the
 * kernel's own words when it has some (NETLINK_EXT_ACK). */
static int sock_make_here(void *arg)
{
    struct sock_make *m = arg;
    m->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    int one = 1;
    if (!m->nl || mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        m->err = errno;
        if (m->nl)
            mnl_socket_close(m->nl);
        m->nl = NULL;
        return 0;
    }
    mnl_socket_setsockopt(m->nl, NETLINK_CAP_ACK, &one, sizeof one);
    mnl_socket_setsockopt(m->nl, NETLINK_EXT_ACK, &one, sizeof one);
    return 0;
}

/* Called with slots_lock held: the namespace's socket, made there the first
 * time and kept when a slot is free. *kept false: the caller releases it. */
static struct mnl_socket *sock_get(int netns_fd, bool *kept, ash_error_t *err)
{
    dev_t dev = 0;
    ino_t ino = 0;
    bool keyed = ns_key(netns_fd, &dev, &ino) == 0;
    struct nft_slot *s = keyed ? slot_find(dev, ino) : NULL;
    *kept = true;
    if (s && s->nl)
        return s->nl;
    struct sock_make m = {0};
    if ((netns_fd < 0 ? sock_make_here(&m) : ash_ns_run(netns_fd, CLONE_NEWNET, sock_make_here, &m)) < 0) {
        ash_error(err, errno, "nftables: cannot enter the network namespace");
        return NULL;
    }
    if (!m.nl) {
        ash_error(err, m.err, "nftables: cannot open a netfilter netlink socket");
        return NULL;
    }
    if (!s && keyed)
        s = slot_new(dev, ino);
    if (s)
        s->nl = m.nl;
    *kept = s != NULL;
    return m.nl;
}

static const char *msg_what(uint16_t type)
{
    if (NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_NFTABLES)
        return "the batch"; /* its begin: the kernel ran out of memory */
    switch (NFNL_MSG_TYPE(type)) {
    case NFT_MSG_NEWTABLE:
        return "the table";
    case NFT_MSG_DELTABLE:
        return "the table's delete";
    case NFT_MSG_NEWCHAIN:
        return "a chain";
    case NFT_MSG_NEWSET:
    case NFT_MSG_NEWSETELEM:
        return "a rule's protocol set";
    case NFT_MSG_NEWRULE:
        return "a rule";
    default:
        return "a message";
    }
}

struct ack {
    uint32_t first, last; /* answers to these sequence numbers are ours; last asks for the ack */
    bool done;            /* last answered */
    int error;            /* the first error, positive */
    uint16_t bad_type;    /* the message it answers */
    char why[160];        /* the kernel's words (extended ack), if any */
};

static int ext_attr(const struct nlattr *a, void *data)
{
    struct ack *k = data;
    if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
        snprintf(k->why, sizeof k->why, "%s", mnl_attr_get_str(a));
    return MNL_CB_OK;
}

/* Reads what the kernel answered: every answer to a request is queued before
 * sendmsg returns (nfnetlink runs a batch in the sender's context, and answers
 * once it has run all of it: an error for each refused message, the ack of the
 * last, or one ENOMEM for the batch's begin), so an empty queue means no more
 * is coming. Answers to older calls are skipped by their sequence number. */
static int acks_read(struct mnl_socket *nl, struct ack *k, ash_error_t *err)
{
    char buf[NL_BUF];
    while (!k->done) {
        ssize_t len = recv(mnl_socket_get_fd(nl), buf, sizeof buf, MSG_DONTWAIT);
        if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && k->error)
            return 0; /* refused: its error is what matters */
        if (len < 0)
            return ash_error(err, errno == EAGAIN ? EPROTO : errno, "nftables: no answer from the kernel");
        int left = (int)len;
        for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, left);
             h = mnl_nlmsg_next(h, &left)) {
            if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq - k->first > k->last - k->first)
                continue;
            const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
            k->done |= h->nlmsg_seq == k->last;
            if (e->error && !k->error) {
                k->error = -e->error;
                k->bad_type = e->msg.nlmsg_type;
                if (h->nlmsg_flags & NLM_F_ACK_TLVS)
                    mnl_attr_parse(h, sizeof *e, ext_attr, k);
            }
        }
    }
    return 0;
}

/* One batch, all or nothing: 0, or the kernel's errno in k->error. */
static int batch_run(struct mnl_socket *nl, const char *buf, size_t len, struct ack *k, ash_error_t *err)
{
    if (mnl_socket_sendto(nl, buf, len) < 0)
        return ash_error(err, errno, "nftables: cannot send the batch");
    return acks_read(nl, k, err);
}

/* Sequence numbers no earlier call used (called with slots_lock held). */
static uint32_t seq_take(uint32_t n)
{
    uint32_t s = nl_seq;
    nl_seq += n;
    return s;
}

static int family_of(const char *family)
{
    return !strcmp(family, "inet")     ? NFPROTO_INET
           : !strcmp(family, "ip")     ? NFPROTO_IPV4
           : !strcmp(family, "ip6")    ? NFPROTO_IPV6
           : !strcmp(family, "arp")    ? NFPROTO_ARP
           : !strcmp(family, "bridge") ? NFPROTO_BRIDGE
           : !strcmp(family, "netdev") ? NFPROTO_NETDEV
                                       : -1;
}

/* The family's number, or -1 with err; a name the kernel would refuse (NFT_NAME_MAXLEN)
 * is refused here, before it is put into a fixed buffer (a journal's record can hold anything). */
static int table_check(const char *family, const char *name, ash_error_t *err)
{
    if (!name || !*name || strlen(name) >= NFT_NAME_MAXLEN)
        return ash_error(err, EINVAL, "nftables: bad table name (empty, or %d characters or more)", NFT_NAME_MAXLEN);
    int fam = family_of(family);
    if (fam < 0)
        return ash_error(err, EINVAL, "nftables: no table family '%s'", family);
    return fam;
}

int ash_nft_table_add(int netns_fd, const char *table, const struct ash_nft_rule *rules, size_t n, ash_error_t *err)
{
    if (table_check("inet", table, err) < 0)
        return -1;
    /* Zeroed: libmnl leaves attributes' padding as it finds it. A rule's messages
     * are well under 1 KiB; the batch stops at half the buffer (nft_rules.c). */
    size_t cap = 8192 + n * 2048, len = 0;
    char *buf = calloc(1, cap);
    if (!buf)
        return ash_error(err, ENOMEM, "nftables: the batch");
    lock();
    bool kept = true;
    int ret = -1;
    struct mnl_socket *nl = sock_get(netns_fd, &kept, err);
    if (!nl)
        goto out;
    uint32_t first = seq_take((uint32_t)(5 + 3 * n)), last = 0;
    if (ash_nft_rules_batch(buf, cap, table, rules, n, first, &len, &last) < 0) {
        ash_error(err, ENOMEM, "nftables: cannot build the batch for table %s", table);
        goto out;
    }
    struct ack k = {.first = first, .last = last};
    if (batch_run(nl, buf, len, &k, err) < 0)
        goto out;
    if (k.error) {
        ash_error(err, k.error, "nftables refused table inet %s at %s%s%s", table, msg_what(k.bad_type),
                  k.why[0] ? ": " : "", k.why);
        goto out;
    }
    ret = 0;
out:
    if (nl && !kept)
        release(NULL, nl, false);
    unlock();
    free(buf);
    return ret;
}

/* A message about table (family, name) in buf: its header and the table's name. */
static struct nlmsghdr *table_msg(char *buf, uint16_t type, int family, const char *name, uint16_t flags, uint32_t seq)
{
    struct nlmsghdr *h = nftnl_nlmsg_build_hdr(buf, type, (uint16_t)family, flags, seq);
    mnl_attr_put_strz(h, NFTA_TABLE_NAME, name);
    return h;
}

int ash_nft_table_delete(int netns_fd, const char *family, const char *name, ash_error_t *err)
{
    int fam = table_check(family, name, err);
    if (fam < 0)
        return -1;
    char buf[1024] = {0}; /* zeroed: see ash_nft_table_add */
    lock();
    bool kept = true;
    int ret = -1;
    struct mnl_socket *nl = sock_get(netns_fd, &kept, err);
    if (!nl)
        goto out;
    uint32_t seq = seq_take(3);
    struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof buf / 2);
    nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq);
    mnl_nlmsg_batch_next(b);
    table_msg(mnl_nlmsg_batch_current(b), NFT_MSG_DELTABLE, fam, name, NLM_F_ACK, seq + 1);
    mnl_nlmsg_batch_next(b);
    nftnl_batch_end(mnl_nlmsg_batch_current(b), seq + 2);
    mnl_nlmsg_batch_next(b);
    struct ack k = {.first = seq, .last = seq + 1};
    int r = batch_run(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b), &k, err);
    mnl_nlmsg_batch_stop(b);
    delete_seq++; /* a socket closed from now on waits for this table: see release */
    if (r < 0)
        goto out;
    if (k.error && k.error != ENOENT) { /* a missing table is fine */
        ash_error(err, k.error, "nftables: cannot delete table %s %s", family, name);
        goto out;
    }
    ret = 0;
out:
    if (nl && !kept)
        release(NULL, nl, true);
    unlock();
    return ret;
}

/* Called with slots_lock held: 1 when the table is there, 0 when not. */
static int table_get(struct mnl_socket *nl, int fam, const char *family, const char *name, ash_error_t *err)
{
    char buf[NL_BUF];
    uint32_t seq = seq_take(1);
    memset(buf, 0, 1024); /* the request's room: see ash_nft_table_add */
    table_msg(buf, NFT_MSG_GETTABLE, fam, name, NLM_F_ACK, seq);
    if (mnl_socket_sendto(nl, buf, ((struct nlmsghdr *)buf)->nlmsg_len) < 0)
        return ash_error(err, errno, "nftables: cannot ask for table %s %s", family, name);
    /* The table (NEWTABLE), then the ack; or the error. */
    struct ack k = {.first = seq, .last = seq};
    if (acks_read(nl, &k, err) < 0)
        return -1;
    if (k.error == ENOENT)
        return 0;
    if (k.error)
        return ash_error(err, k.error, "nftables: cannot list table %s %s", family, name);
    return 1;
}

int ash_nft_table_exists(int netns_fd, const char *family, const char *name, ash_error_t *err)
{
    int fam = table_check(family, name, err);
    if (fam < 0)
        return -1;
    lock();
    bool kept = true;
    struct mnl_socket *nl = sock_get(netns_fd, &kept, err);
    int r = nl ? table_get(nl, fam, family, name, err) : -1;
    if (nl && !kept)
        release(NULL, nl, false);
    unlock();
    return r;
}

static int rule_packets(const struct nlmsghdr *h, void *data)
{
    uint64_t *packets = data;
    struct nftnl_rule *r = nftnl_rule_alloc();
    if (!r || nftnl_rule_nlmsg_parse(h, r) < 0) {
        if (r)
            nftnl_rule_free(r);
        return MNL_CB_ERROR;
    }
    struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
    for (struct nftnl_expr *e = it ? nftnl_expr_iter_next(it) : NULL; e; e = nftnl_expr_iter_next(it))
        if (!strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter"))
            *packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
    if (it)
        nftnl_expr_iter_destroy(it);
    nftnl_rule_free(r);
    return it ? MNL_CB_OK : MNL_CB_ERROR;
}

/* The table's rules, dumped (the kernel filters the dump by table). */
static int rules_dump(struct mnl_socket *nl, int fam, const char *family, const char *name, uint64_t *packets,
                      ash_error_t *err)
{
    char buf[NL_BUF];
    uint32_t seq = seq_take(1);
    memset(buf, 0, 1024); /* the request's room: see ash_nft_table_add */
    struct nlmsghdr *h = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)fam, NLM_F_DUMP, seq);
    mnl_attr_put_strz(h, NFTA_RULE_TABLE, name);
    if (mnl_socket_sendto(nl, buf, h->nlmsg_len) < 0)
        return ash_error(err, errno, "nftables: cannot ask for the rules of table %s %s", family, name);
    uint32_t portid = mnl_socket_get_portid(nl);
    int r;
    do {
        ssize_t len = mnl_socket_recvfrom(nl, buf, sizeof buf);
        if (len < 0)
            return ash_error(err, errno, "nftables: cannot read the rules of table %s %s", family, name);
        r = mnl_cb_run(buf, (size_t)len, seq, portid, rule_packets, packets);
    } while (r > MNL_CB_STOP);
    if (r < 0)
        return ash_error(err, errno ? errno : EIO, "nftables: cannot read the rules of table %s %s", family, name);
    return 0;
}

int ash_nft_table_packets(int netns_fd, const char *family, const char *name, uint64_t *packets, ash_error_t *err)
{
    *packets = 0;
    int fam = table_check(family, name, err);
    if (fam < 0)
        return -1;
    lock();
    bool kept = true;
    struct mnl_socket *nl = sock_get(netns_fd, &kept, err);
    int r = nl ? table_get(nl, fam, family, name, err) : -1;
    if (r == 1 && rules_dump(nl, fam, family, name, packets, err) < 0)
        r = -1;
    if (nl && !kept)
        release(NULL, nl, false);
    unlock();
    return r;
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
        release(s->ctx, s->nl, true);
        *s = (struct nft_slot){0};
    }
    pthread_mutex_unlock(&slots_lock);
}
