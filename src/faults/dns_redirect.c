/* A `dns` fault on a container, without touching its configuration.
 *
 * How: a server of the fault's own listens inside the container's network namespace
 * (sockets made there from this process, so nothing runs in the container), and an
 * nftables table of aftershock's own in that namespace redirects what the container
 * sends to port 53 (wherever its resolv.conf points: Docker's 127.0.0.11 included) to
 * that server. Names the fault harms get the fault's answer; every other query is
 * forwarded to the container's own resolver, from a socket whose mark the redirect lets
 * by, so the container resolves everything else as it did.
 *
 * Why this and not its /etc/resolv.conf (what Pumba-style tools rewrite, or bind-mount
 * over through setns into its mount namespace): a rewritten file is the container's
 * own state. A crash mid-fault leaves it rewritten, a resolver library may have cached
 * it, and Docker itself rewrites the file on restart. The table is ours alone, is one
 * netlink transaction to add and to delete (the container's own nftables and Docker's
 * iptables-nft rules for 127.0.0.11 stay as they were: ours runs first at a lower
 * priority and only for unmarked packets), and dies with the namespace if the container
 * restarts. IPv4 only: an IPv6 resolver address would need a second listener. */
#include "faults/dns_redirect.h"
#include "dns/dns.h"
#include "env/target.h"
#include "env/target_netns.h"
#include "sys/nft.h"
#include "sys/journal.h"
#include "sys/objname.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* SO_MARK of the forwarding socket: "ashd". */
#define FORWARD_MARK 0x61736864u

struct ash_dns_redirect {
    struct ash_target t;
    struct ash_dns *srv;
    char upstream[INET_ADDRSTRLEN];
    char table[ASH_OBJNAME_MAX + 1];
    uint64_t jid; /* the journal's record while the table may exist */
    bool applied;
};

/* The first IPv4 nameserver of the file the target's init sees as /etc/resolv.conf. */
static int resolver_of(const struct ash_target *t, char *out, size_t len, ash_error_t *err)
{
    json_t *id = ash_target_identity(t);
    int pid = (int)json_integer_value(json_object_get(id, "pid"));
    json_decref(id);
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/root/etc/resolv.conf", pid);
    FILE *f = pid > 0 ? fopen(path, "re") : NULL;
    if (!f)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, pid > 0 ? errno : ESRCH,
                               "%s: cannot read its resolver from %s", t->name, path);
    out[0] = '\0';
    while (!out[0] && fgets(line, sizeof line, f)) {
        char ns[64];
        struct in_addr a;
        if (sscanf(line, " nameserver %63s", ns) == 1 && inet_pton(AF_INET, ns, &a) == 1)
            snprintf(out, len, "%s", ns);
    }
    fclose(f);
    if (!out[0])
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                               "%s: %s names no IPv4 nameserver to forward the other names to", t->name, path);
    return 0;
}

static int read_resolver(struct ash_dns_redirect *r, ash_error_t *err)
{
    return resolver_of(&r->t, r->upstream, sizeof r->upstream, err);
}

int ash_dns_redirect_check(const struct ash_target *t, ash_error_t *err)
{
    char upstream[INET_ADDRSTRLEN];
    return resolver_of(t, upstream, sizeof upstream, err);
}

struct in_ns {
    struct ash_dns_redirect *r;
    ash_error_t *err;
};

static int listen_in_ns(void *arg)
{
    struct in_ns *a = arg;
    if (ash_dns_listen(a->r->srv, "127.0.0.1", 0, a->err) < 0 ||
        ash_dns_forward_to(a->r->srv, a->r->upstream, 53, FORWARD_MARK, a->err) < 0)
        return -1;
    return 0;
}

int ash_dns_redirect_new(struct ash_ctx *ctx, const struct ash_target_ref *ref, const char *fault,
                         struct ash_dns_redirect **out, ash_error_t *err)
{
    struct ash_dns_redirect *r = calloc(1, sizeof *r);
    if (!r)
        return ash_error(err, ENOMEM, "dns fault");
    if (ash_ctx_target(ctx, ref, &r->t, err) < 0) {
        free(r);
        return -1;
    }
    ash_objname(r->table, ctx->run_id, fault);
    struct in_ns a = {r, err};
    if (ash_target_netns_fd(&r->t) < 0) {
        ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP,
                        "%s has no network namespace of its own (it shares the machine's): redirecting its DNS "
                        "would redirect every process's",
                        r->t.name);
        goto fail;
    }
    if (read_resolver(r, err) < 0 || ash_dns_new(ctx->loop, &r->srv, err) < 0)
        goto fail;
    if (ctx->scenario && ash_dns_add_scenario(r->srv, &ctx->scenario->dns, err) < 0)
        goto fail;
    if (ash_target_run_in_netns(&r->t, listen_in_ns, &a, err) < 0)
        goto fail;
    *out = r;
    return 0;
fail:
    ash_dns_redirect_free(r);
    return -1;
}

struct ash_dns *ash_dns_redirect_server(struct ash_dns_redirect *r)
{
    return r->srv;
}

int ash_dns_redirect_apply(struct ash_ctx *ctx, struct ash_dns_redirect *r, ash_error_t *err)
{
    json_t *d = json_pack("{s:s}", "table", r->table);
    if (!d || ash_target_netns_record(&r->t, d, err) < 0) {
        json_decref(d);
        return d ? -1 : ash_error(err, ENOMEM, "journal record");
    }
    int ret = ctx->journal ? ash_journal_append(ctx->journal, "dns.redirect", d, &r->jid, err) : 0;
    json_decref(d);
    if (ret < 0)
        return -1;
    r->applied = true;
    struct stat sb;
    if (fstat(ash_target_netns_fd(&r->t), &sb) == 0)
        ash_dns_serve_netns(r->srv, (unsigned long long)sb.st_ino);
    char cmds[1024];
    int port = ash_dns_port(r->srv);
    /* nft text through libnftables (its context kept per namespace), not a libnftnl
     * batch like the network faults' tables: made once per DNS fault, where ~0.1 ms
     * is nothing, and a redirect reads plainly as nft text. Its delete goes over
     * netlink (ash_nft_table_delete).
     * priority -110: before Docker's own DNAT of 127.0.0.11 (iptables-nft at -100), so a
     * query's destination is ours; the forwarding socket's mark passes to Docker's. */
    snprintf(cmds, sizeof cmds,
             "add table ip %s\n"
             "add chain ip %s out { type nat hook output priority -110; policy accept; }\n"
             "add rule ip %s out meta mark != 0x%x udp dport 53 redirect to :%d\n"
             "add rule ip %s out meta mark != 0x%x tcp dport 53 redirect to :%d\n",
             r->table, r->table, r->table, FORWARD_MARK, port, r->table, FORWARD_MARK, port);
    if (ash_nft_run(ash_target_netns_fd(&r->t), cmds, err) < 0)
        return ash_error_wrap(err, "%s: cannot redirect its DNS queries", r->t.name);
    return 0;
}

int ash_dns_redirect_stop(struct ash_ctx *ctx, struct ash_dns_redirect *r, ash_error_t *err)
{
    if (!r)
        return 0;
    if (r->applied) {
        if (ash_nft_table_delete(ash_target_netns_fd(&r->t), "ip", r->table, err) < 0)
            return ash_error_wrap(err, "%s: cannot remove the DNS redirect", r->t.name);
        if (ctx->journal && r->jid)
            ash_journal_done(ctx->journal, r->jid, NULL);
        r->applied = false;
        ash_dns_serve_netns(r->srv, 0);
    }
    ash_dns_redirect_free(r);
    return 0;
}

void ash_dns_redirect_free(struct ash_dns_redirect *r)
{
    if (!r)
        return;
    ash_dns_free(r->srv);
    ash_target_release(&r->t);
    free(r);
}

int ash_dns_redirect_undo(json_t *rec, ash_error_t *err)
{
    const char *table = json_string_value(json_object_get(rec, "table"));
    if (!table || strncmp(table, "ash-", 4) != 0)
        return ash_error(err, EINVAL, "dns.redirect record without an ash- table");
    int fd = -1;
    const char *why = NULL;
    if (ash_target_netns_reopen(rec, &fd, &why, err) < 0)
        return -1;
    if (fd < 0) { /* the namespace, and the table in it, are gone: recover's line says so */
        json_object_set_new(rec, "nothing_to_undo", json_string(why));
        return 0;
    }
    int r = ash_nft_table_delete(fd, "ip", table, err);
    close(fd);
    return r;
}
