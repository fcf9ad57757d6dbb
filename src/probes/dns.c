/* Probe `dns`: one query per sample, sent with ldns from the probe's host to the nameserver of its
 * resolv.conf, as a client there would; ok when the answer has an address (the expected one). */
#include "kinds.h"
#include "dns/dns.h"
#include "sys/addr.h"
#include "env/sandbox.h"
#include "probes/inflight.h"
#include "probes/probe_socket.h"
#include "sys/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct dns_probe_conf {
    char *name;
    char *expect;
};

static const struct ash_field dns_probe_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct dns_probe_conf, name), ASH_FIELD_REQUIRED, "name to resolve (A record)"},
    {"expect", ASH_F_STRING, offsetof(struct dns_probe_conf, expect), 0,
     "the address the answer must hold, or a host name (its address); default any address"},
    {NULL}};

struct dns_sample;

struct dns_probe_state {
    const struct ash_probe_spec *p;
    struct ash_ctx *ctx;
    struct ash_probe_from *from;
    struct sockaddr_storage ns;
    socklen_t ns_len;
    char ns_str[INET6_ADDRSTRLEN + 8];
    struct ash_inflight inflight;
};

struct dns_sample {
    struct ash_inflight_sample b; /* first: the list, the timer, the result */
    struct dns_probe_state *st;
    int fd;
    uint16_t id;
};

static void clear(struct ash_inflight_sample *b)
{
    struct dns_sample *s = (struct dns_sample *)b;
    if (s->fd >= 0) {
        ash_loop_del_fd(s->st->ctx->loop, s->fd);
        close(s->fd);
    }
}

static int64_t on_timer(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    (void)now;
    struct dns_sample *s = data;
    s->b.timer = NULL;
    if (!s->b.finished) {
        s->b.result.end = ash_now_ns();
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "no answer from %s within %.0f ms", s->st->ns_str,
                 ash_ns_to_ms(s->b.result.end - s->b.result.start));
    }
    ash_inflight_deliver(&s->b);
    return ASH_TIMER_DONE;
}

/* What the answer must hold: an address, a host's, or (host mode) what the server says now. */
static const char *expected_address(struct dns_probe_state *st)
{
    const struct dns_probe_conf *c = st->p->conf;
    if (!c->expect)
        return NULL;
    struct in6_addr a;
    if (inet_pton(AF_INET, c->expect, &a) == 1 || inet_pton(AF_INET6, c->expect, &a) == 1)
        return c->expect;
    const char *addr = st->ctx->sandbox ? ash_sandbox_address(st->ctx->sandbox, c->expect) : NULL;
    if (addr)
        return addr;
    return st->ctx->dns ? ash_dns_lookup(st->ctx->dns, c->expect) : NULL;
}

static void judge(struct dns_sample *s, const ldns_pkt *ans)
{
    const struct dns_probe_conf *c = s->st->p->conf;
    ldns_pkt_rcode rc = ldns_pkt_get_rcode(ans);
    if (rc != LDNS_RCODE_NOERROR) {
        char *rcs = ldns_pkt_rcode2str(rc);
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "%s: %s", c->name, rcs ? rcs : "error");
        free(rcs);
        return;
    }
    const char *want = expected_address(s->st);
    char got[INET6_ADDRSTRLEN] = "";
    ldns_rr_list *an = ldns_pkt_answer(ans);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_A || ldns_rr_rd_count(rr) < 1)
            continue;
        char *a = ldns_rdf2str(ldns_rr_rdf(rr, 0));
        if (!a)
            continue;
        if (!got[0] || (want && strcmp(a, want) == 0))
            snprintf(got, sizeof got, "%s", a);
        free(a);
    }
    if (!got[0])
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "%s: no address in the answer%s", c->name,
                 ldns_pkt_tc(ans) ? " (truncated)" : "");
    else if (c->expect && (!want || strcmp(got, want) != 0))
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "%s resolved to %s, expected %s (%s)", c->name, got,
                 c->expect, want ? want : "unknown");
    else
        s->b.result.ok = true;
}

static void on_readable(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)events;
    struct dns_sample *s = data;
    uint8_t buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    s->b.result.end = ash_now_ns();
    if (n < 0) {
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "%s: %s", s->st->ns_str, strerror(errno));
    } else {
        ldns_pkt *ans = NULL;
        if (ldns_wire2pkt(&ans, buf, (size_t)n) != LDNS_STATUS_OK) {
            snprintf(s->b.result.detail, sizeof s->b.result.detail, "malformed answer from %s", s->st->ns_str);
        } else if (ldns_pkt_id(ans) != s->id || !ldns_pkt_qr(ans)) {
            ldns_pkt_free(ans);
            return; /* not ours (a late answer to an earlier socket cannot reach this one, but be sure) */
        } else {
            judge(s, ans);
        }
        ldns_pkt_free(ans);
    }
    s->b.finished = true;
    ash_inflight_deliver(&s->b);
}

/* The first nameserver of the host's generated resolv.conf (or the harness's). */
static int read_nameserver(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[256];
    int ret = -1;
    while (ret < 0 && fgets(line, sizeof line, f)) {
        char addr[INET6_ADDRSTRLEN + 1];
        if (sscanf(line, " nameserver %46s", addr) == 1) {
            snprintf(out, len, "%s", addr);
            ret = 0;
        }
    }
    fclose(f);
    return ret;
}

static int dns_probe_open(struct ash_ctx *ctx, const struct ash_probe_spec *p, void **state, ash_error_t *err)
{
    struct ash_probe_from *from;
    if (ash_probe_origin(ctx, p, &from, err) < 0)
        return -1;
    struct dns_probe_state *st = calloc(1, sizeof *st);
    if (!st) {
        ash_probe_from_free(from);
        return ash_error(err, ENOMEM, "probe '%s'", p->name);
    }
    st->p = p;
    st->ctx = ctx;
    st->inflight = (struct ash_inflight){.loop = ctx->loop, .clear = clear};
    st->from = from;
    char spec[INET6_ADDRSTRLEN + 16], why[120], addr[INET6_ADDRSTRLEN + 1];
    if (!from && ctx->scenario && ctx->scenario->dns.listen) {
        snprintf(spec, sizeof spec, "%s", ctx->scenario->dns.listen); /* host mode: the run's own server */
    } else {
        char path[4200];
        char etc[4096];
        snprintf(path, sizeof path, "%s/resolv.conf", ash_probe_from_etc(from, etc, sizeof etc));
        if (read_nameserver(path, addr, sizeof addr) < 0) {
            ash_probe_from_free(st->from);
            free(st);
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOENT, "probe '%s': no nameserver in %s", p->name, path);
        }
        snprintf(spec, sizeof spec, strchr(addr, ':') ? "[%s]:53" : "%s:53", addr);
    }
    if (ash_parse_listen(spec, &st->ns, why, sizeof why) < 0) {
        ash_probe_from_free(st->from);
        free(st);
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EINVAL, "probe '%s': nameserver %s: %s", p->name, spec, why);
    }
    st->ns_len = st->ns.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    snprintf(st->ns_str, sizeof st->ns_str, "%s", spec);
    *state = st;
    return 0;
}

static int send_query(struct dns_sample *s, const char *name)
{
    ldns_rdf *dn = ldns_dname_new_frm_str(name);
    if (!dn)
        return -1;
    ldns_pkt *q = ldns_pkt_query_new(dn, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
    if (!q) {
        ldns_rdf_deep_free(dn);
        return -1;
    }
    ldns_pkt_set_random_id(q);
    s->id = ldns_pkt_id(q);
    uint8_t *wire = NULL;
    size_t len = 0;
    int ret = -1;
    if (ldns_pkt2wire(&wire, q, &len) == LDNS_STATUS_OK && send(s->fd, wire, len, MSG_DONTWAIT) == (ssize_t)len)
        ret = 0;
    free(wire);
    ldns_pkt_free(q);
    return ret;
}

static int dns_probe_sample(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state, int64_t start,
                            ash_sample_done_fn done, void *arg, ash_error_t *err)
{
    (void)ctx;
    struct dns_probe_state *st = state;
    const struct dns_probe_conf *c = p->conf;
    struct dns_sample *s = calloc(1, sizeof *s);
    if (!s)
        return ash_error(err, ENOMEM, "probe '%s': sample", p->name);
    s->st = st;
    s->fd = -1;
    ash_inflight_start(&st->inflight, &s->b, start, done, arg);
    /* A fresh socket per sample, made in the host's netns: link faults and
     * partitions apply to the query as to any client there. */
    s->fd = ash_probe_socket(st->from, st->ns.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0) {
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "socket: %s", strerror(errno));
        s->b.finished = true;
    } else if (connect(s->fd, (struct sockaddr *)&st->ns, st->ns_len) < 0 || send_query(s, c->name) < 0) {
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "query %s to %s: %s", c->name, st->ns_str,
                 errno ? strerror(errno) : "cannot build");
        s->b.finished = true;
    } else if (ash_loop_add_fd(st->ctx->loop, s->fd, EPOLLIN, on_readable, s, err) < 0) {
        ash_inflight_release(&s->b);
        return ash_error_wrap(err, "probe '%s'", p->name);
    }
    return ash_inflight_arm(&s->b, start + (p->timeout_ns > 0 ? p->timeout_ns : ASH_NS_PER_S), on_timer, p->name, err);
}

static void dns_probe_close(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state)
{
    (void)ctx;
    (void)p;
    struct dns_probe_state *st = state;
    if (!st)
        return;
    ash_inflight_close(&st->inflight);
    ash_probe_from_free(st->from);
    free(st);
}

const struct ash_probe_kind ash_probe_dns = {
    .c = {.name = "dns",
          .summary = "resolve a name from a host through its resolv.conf; ok when the address is right",
          .fields = dns_probe_fields,
          .conf_size = sizeof(struct dns_probe_conf),
          .shorthand = "name"},
    .open = dns_probe_open,
    .sample = dns_probe_sample,
    .close = dns_probe_close,
};
