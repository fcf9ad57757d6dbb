/* Fault `dns`: the run's DNS server answers chosen names wrongly (NXDOMAIN, SERVFAIL, REFUSED, nothing,
 * a wrong or stale address), late, sometimes, with a chosen TTL, or differently per client; or the
 * names move to another address (a host migrated), which `stale` answers then lag behind. */
#include "kinds.h"
#include "dns/dns.h"
#include "faults/dns_redirect.h"
#include "env/sandbox.h"
#include "sys/clock.h"
#include "sys/objname.h"

#include <aftershock/text.h>
#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* enum ash_dns_answer without "correct" (index + 1). */
static const char *const answer_names[] = {"nxdomain",      "servfail", "refused", "timeout",
                                           "wrong-address", "stale",    NULL};

struct dns_fault_conf {
    struct ash_strlist names;
    struct ash_strlist clients;
    int answer; /* index into answer_names; -1: not given */
    char *to;
    int64_t delay_ns;
    double probability;
    long long ttl; /* -1: the records' own */
    ash_node split;
    char *move;                   /* the names' address records point here while the fault is in effect */
    struct ash_target_ref target; /* a container: its own queries, redirected (dns_redirect.c) */
};

static const struct ash_field dns_fault_fields[] = {
    {"names", ASH_F_STRLIST, offsetof(struct dns_fault_conf, names), ASH_FIELD_REQUIRED,
     "names to harm, globs (\"web\", \"*.db\")"},
    {"clients", ASH_F_STRLIST, offsetof(struct dns_fault_conf, clients), 0,
     "only queries from these hosts (or source addresses); default every client"},
    {"answer", ASH_F_ENUM, offsetof(struct dns_fault_conf, answer), 0,
     "nxdomain | servfail | refused | timeout (no answer) | wrong-address (to:) | stale (the previous address)",
     answer_names},
    {"to", ASH_F_STRING, offsetof(struct dns_fault_conf, to), 0,
     "answer: wrong-address: an address, or a host or record name whose address to give"},
    {"delay", ASH_F_DURATION, offsetof(struct dns_fault_conf, delay_ns), 0, "answer this much later"},
    {"probability", ASH_F_PERCENT, offsetof(struct dns_fault_conf, probability), 0,
     "share of matching queries harmed (default 100%)"},
    {"ttl", ASH_F_INT, offsetof(struct dns_fault_conf, ttl), 0, "TTL in seconds of the answers given meanwhile", NULL,
     NULL, 0, 2147483647},
    {"split", ASH_F_NODE, offsetof(struct dns_fault_conf, split), 0,
     "per client host: {HOST: nxdomain | servfail | refused | timeout | stale | correct | ADDRESS | NAME}"},
    {"target", ASH_F_TARGET, offsetof(struct dns_fault_conf, target), 0,
     "container:NAME (or process:...): its DNS queries, redirected inside its network namespace to a server of "
     "the fault's own that forwards every other name to its resolver; its configuration is not changed",
     .needs = ASH_CAP_NETNS},
    {"move", ASH_F_STRING, offsetof(struct dns_fault_conf, move), 0,
     "the names move to this address (or host or record name's address) while the fault is in effect, as a "
     "migrated host does; `stale` answers give the old one; revert moves them back"},
    {NULL}};

static void dns_fault_defaults(void *conf)
{
    struct dns_fault_conf *c = conf;
    c->answer = -1;
    c->probability = 1.0;
    c->ttl = -1;
}

static bool is_literal(const char *s)
{
    struct in6_addr a;
    return inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1;
}

/* An address, or a name the server will know: a host or a `dns: records:` name. */
static bool known_target(const struct ash_scenario *sc, const char *s)
{
    if (is_literal(s) || ash_scenario_host(sc, s) || strcmp(s, "aftershock") == 0)
        return true;
    for (size_t i = 0; i < sc->dns.n_records; i++)
        if (strcasecmp(sc->dns.records[i].name, s) == 0)
            return true;
    return false;
}

static bool is_answer_word(const char *s, enum ash_dns_answer *out)
{
    for (int i = 0; ash_dns_answer_names[i]; i++)
        if (strcmp(ash_dns_answer_names[i], s) == 0 && i != ASH_DNS_WRONG) {
            *out = (enum ash_dns_answer)i;
            return true;
        }
    return false;
}

static int dns_fault_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct dns_fault_conf *c = conf;
    if (c->target.name) {
        ash_node t = ash_map_get(node, "target");
        if (c->target.type != ASH_TARGET_CONTAINER && c->target.type != ASH_TARGET_PROCESS)
            return ash_node_fail(&t, err,
                                 "a dns fault's target is a container or a process with its own network namespace "
                                 "(sandbox hosts already ask the run's server: leave target out)");
        if (c->clients.n || ash_node_ok(&c->split))
            return ash_node_fail(&t, err, "with a target, the target is the only client: leave out clients and split");
    } else if (sc->n_hosts == 0 && !sc->dns.listen) {
        return ash_node_fail(node, err,
                             "a dns fault needs the run's DNS server: sandbox hosts, or in host mode "
                             "'dns: {listen: ADDRESS:PORT}' at the top of the scenario, or a 'target: "
                             "container:NAME' whose queries it takes");
    }
    bool wrong = c->answer == ASH_DNS_WRONG - 1;
    ash_node to = ash_map_get(node, "to");
    if (wrong && !c->to)
        return ash_node_fail(node, err, "answer: wrong-address needs 'to: ADDRESS' (or a host name)");
    if (!wrong && c->to)
        return ash_node_fail(&to, err, "'to' only goes with answer: wrong-address");
    if (c->to && !known_target(sc, c->to))
        return ash_node_fail(&to, err, "'to: %s' is neither an address nor a host or DNS record of this scenario",
                             c->to);
    for (size_t i = 0; i < c->clients.n; i++)
        if (!is_literal(c->clients.v[i]) && !ash_scenario_host(sc, c->clients.v[i])) {
            ash_node cl = ash_map_get(node, "clients");
            return ash_node_fail(&cl, err, "client '%s' is neither a host of this scenario nor an address",
                                 c->clients.v[i]);
        }
    if (ash_node_ok(&c->split)) {
        if (!ash_node_is_map(&c->split))
            return ash_node_fail(&c->split, err,
                                 "'split' maps client hosts to answers ({web1: nxdomain, web2: "
                                 "correct}), got %s",
                                 ash_node_kind_name(&c->split));
        for (size_t i = 0; i < ash_map_size(&c->split); i++) {
            ash_node k, v;
            ash_map_pair(&c->split, i, &k, &v);
            const char *host = ash_node_text(&k), *ans = ash_node_text(&v);
            if (!host || (!is_literal(host) && !ash_scenario_host(sc, host)))
                return ash_node_fail(&k, err, "split: '%s' is neither a host of this scenario nor an address",
                                     host ? host : "?");
            enum ash_dns_answer a;
            if (!ans || (!is_answer_word(ans, &a) && !known_target(sc, ans)))
                return ash_node_fail(&v, err,
                                     "split answer '%s': one of nxdomain, servfail, refused, timeout, "
                                     "stale, correct, or an address or host name (a wrong address)",
                                     ans ? ans : "?");
        }
    } else if (c->answer < 0 && c->delay_ns <= 0 && !c->move) {
        return ash_node_fail(node, err,
                             "say what the server does: 'answer: ...', 'split: {...}', 'delay: ...' "
                             "or 'move: ADDRESS'");
    }
    if (c->move) {
        ash_node mv = ash_map_get(node, "move");
        if (!known_target(sc, c->move))
            return ash_node_fail(&mv, err,
                                 "'move: %s' is neither an address nor a host or DNS record of this "
                                 "scenario",
                                 c->move);
        /* A move changes one record per name: globs would move whatever happened to match. */
        for (size_t i = 0; i < c->names.n; i++)
            if (strpbrk(c->names.v[i], "*?[") || !known_target(sc, c->names.v[i]) || is_literal(c->names.v[i]))
                return ash_node_fail(&mv, err,
                                     "'move' needs names that are hosts or DNS records of this "
                                     "scenario, not globs; '%s' is not",
                                     c->names.v[i]);
    }
    return 0;
}

/* A client: a host's address in the sandbox, else the literal. */
static const char *client_address(struct ash_ctx *ctx, const char *s)
{
    const char *addr = ctx->sandbox ? ash_sandbox_address(ctx->sandbox, s) : NULL;
    return addr ? addr : s;
}

static int resolve_target(struct ash_dns *srv, const char *to, struct ash_dns_verdict *v, ash_error_t *err)
{
    const char *addr = is_literal(to) ? to : ash_dns_lookup(srv, to);
    if (!addr)
        return ash_error(err, ENOENT, "the DNS server has no address for '%s'", to);
    v->answer = ASH_DNS_WRONG;
    snprintf(v->addr, sizeof v->addr, "%s", addr);
    return 0;
}

struct dns_move {
    struct ash_dns_undo undo; /* the old answer, put back without allocating */
};

/* A rule no client has asked about this long gets a timeline warning. */
#define NO_EFFECT_AFTER_NS ASH_NS_PER_S

struct dns_fault_state {
    uint64_t rule;
    bool has_rule;
    struct ash_ctx *ctx;
    const char *name;
    const struct dns_fault_conf *c;
    ash_timer *quiet;
    struct dns_move *moves; /* what `move` changed, to put back on revert */
    size_t n_moves;
    struct ash_dns *srv;               /* the run's server, or the redirect's own */
    struct ash_dns_redirect *redirect; /* target: a container's queries */
};

/* Put moved names back, last first (a name listed twice ends where it began).
 * Cannot fail: each move kept the old answer whole, so a revert needs no
 * allocation (a revert that needed one could leave the name moved). */
static void move_back(struct dns_fault_state *st)
{
    for (size_t i = st->n_moves; i-- > 0;)
        ash_dns_move_undo(st->srv, &st->moves[i].undo);
    st->n_moves = 0;
}

/* `move`: each name's address record now says where the fault's target is. */
static int apply_moves(const struct dns_fault_conf *c, struct dns_fault_state *st, ash_error_t *err)
{
    if (!c->move)
        return 0;
    char to[INET6_ADDRSTRLEN];
    const char *t = is_literal(c->move) ? c->move : ash_dns_lookup(st->srv, c->move);
    if (!t)
        return ash_error(err, ENOENT, "dns fault: move: the DNS server has no address for '%s'", c->move);
    snprintf(to, sizeof to, "%s", t); /* the lookup's string changes if `move` names one of the names */
    st->moves = calloc(c->names.n, sizeof *st->moves);
    if (!st->moves)
        return ash_error(err, ENOMEM, "dns fault: move");
    for (size_t i = 0; i < c->names.n; i++) {
        if (ash_dns_move_keep(st->srv, c->names.v[i], to, &st->moves[st->n_moves].undo, err) < 0)
            return -1;
        st->n_moves++;
    }
    return 0;
}

static void names_of(const struct dns_fault_conf *c, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->names.n && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "", c->names.v[i]);
}

static int64_t quiet_check(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct dns_fault_state *st = data;
    st->quiet = NULL;
    if (st->srv && ash_dns_rule_asked(st->srv, st->rule) == 0 && st->ctx->event) {
        char names[300];
        names_of(st->c, names, sizeof names);
        ash_ctx_eventf(st->ctx, now, "warning",
                       "%s: no client has asked for %s%s in %.0f s: the fault has had no effect so far", st->name,
                       names, st->c->clients.n ? " (from the clients it names)" : "", (double)NO_EFFECT_AFTER_NS / 1e9);
    }
    return ASH_TIMER_DONE;
}

static bool has_answer_rule(const struct dns_fault_conf *c)
{
    return c->answer >= 0 || ash_node_ok(&c->split) || c->delay_ns > 0;
}

static int dns_fault_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    const struct dns_fault_conf *c = f->conf;
    struct ash_dns_redirect *redirect = NULL;
    if (c->target.name && ash_dns_redirect_new(ctx, &c->target, f->name, &redirect, err) < 0)
        return ash_error_wrap(err, "dns fault '%s'", f->name);
    struct ash_dns *srv = redirect ? ash_dns_redirect_server(redirect) : ctx->dns;
    if (!srv)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOENT, "the run has no DNS server to harm");
    struct ash_dns_rule r = {.names = (const char *const *)c->names.v,
                             .n_names = c->names.n,
                             .delay_ns = c->delay_ns,
                             .probability = c->probability,
                             .ttl = c->ttl};
    r.v.answer = c->answer < 0 ? ASH_DNS_CORRECT : (enum ash_dns_answer)(c->answer + 1);
    if (c->to && resolve_target(srv, c->to, &r.v, err) < 0) {
        ash_dns_redirect_free(redirect);
        return -1;
    }
    const char **clients = calloc(c->clients.n + 1, sizeof *clients);
    size_t n_split = ash_node_ok(&c->split) ? ash_map_size(&c->split) : 0;
    struct ash_dns_split *split = calloc(n_split + 1, sizeof *split);
    struct dns_fault_state *st = calloc(1, sizeof *st);
    int ret = -1;
    if (!clients || !split || !st) {
        ash_error(err, ENOMEM, "dns fault");
        goto out;
    }
    for (size_t i = 0; i < c->clients.n; i++)
        clients[i] = client_address(ctx, c->clients.v[i]);
    r.clients = clients;
    r.n_clients = c->clients.n;
    for (size_t i = 0; i < n_split; i++) {
        ash_node k, v;
        ash_map_pair(&c->split, i, &k, &v);
        snprintf(split[i].client, sizeof split[i].client, "%s", client_address(ctx, ash_node_text(&k)));
        if (!is_answer_word(ash_node_text(&v), &split[i].v.answer) &&
            resolve_target(srv, ash_node_text(&v), &split[i].v, err) < 0)
            goto out;
    }
    r.split = split;
    r.n_split = n_split;
    st->srv = srv;
    /* No journal record: the rule and the moves live in this process's server, which dies with it.
     * Moves first, so a `stale` rule's snapshot is the address before the move. */
    if (apply_moves(c, st, err) < 0)
        goto out;
    if (has_answer_rule(c)) {
        if (ash_dns_rule_add(srv, &r, &st->rule, err) < 0)
            goto out;
        st->has_rule = true;
        st->ctx = ctx;
        st->name = f->name;
        st->c = c;
        if (ctx->loop &&
            !(st->quiet = ash_loop_add_timer(ctx->loop, ash_now_ns() + NO_EFFECT_AFTER_NS, quiet_check, st))) {
            ash_dns_rule_remove(ctx->dns, st->rule); /* `out` moves the names back */
            ash_error(err, ENOMEM, "cannot arm the check that the fault is asked about");
            goto out;
        }
    }
    /* The rules are in place on the redirect's server before any query reaches it. */
    if (redirect && ash_dns_redirect_apply(ctx, redirect, err) < 0) {
        if (st->quiet)
            ash_loop_cancel_timer(ctx->loop, st->quiet);
        move_back(st);
        ash_error_t e2 = {0};
        if (ash_dns_redirect_stop(ctx, redirect, &e2) < 0)
            ash_dns_redirect_free(redirect); /* its record stays pending for recover */
        redirect = NULL;
        st->srv = NULL;
        ash_error_wrap(err, "dns fault '%s'", f->name);
        goto out;
    }
    st->redirect = redirect;
    redirect = NULL;
    *state = st;
    st = NULL;
    ret = 0;
out:
    if (st) {
        if (st->srv)
            move_back(st);
        free(st->moves);
    }
    ash_dns_redirect_free(redirect);
    free(clients);
    free(split);
    free(st);
    return ret;
}

static int dns_fault_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err)
{
    struct dns_fault_state *st = state;
    if (st && st->quiet && ctx->loop)
        ash_loop_cancel_timer(ctx->loop, st->quiet);
    if (st)
        st->quiet = NULL;
    /* The redirect first: once it is gone the container asks its own resolver again. */
    if (st && st->redirect) {
        move_back(st); /* its undo records live with the server the redirect frees */
        if (ash_dns_redirect_stop(ctx, st->redirect, err) < 0)
            return -1; /* state kept: the engine retries, then discards it */
        st->redirect = NULL;
        st->srv = NULL; /* it was the redirect's: no rule or move left to undo there */
    }
    if (st && st->srv) {
        if (st->has_rule && ash_dns_rule_asked(st->srv, st->rule) == 0 && ctx->no_effect) {
            char names[300], why[400];
            names_of(f->conf, names, sizeof names);
            snprintf(why, sizeof why, "no client asked the run's DNS server for %s while it was in effect", names);
            ctx->no_effect(ctx, f->name, why);
        }
        if (st->has_rule)
            ash_dns_rule_remove(st->srv, st->rule); /* the next query gets the truth */
        move_back(st);
    }
    if (st)
        free(st->moves);
    free(st);
    return 0;
}

/* After a revert failed twice: the redirect's record stays pending for recover. */
static void dns_fault_discard(void *state)
{
    struct dns_fault_state *st = state;
    if (!st)
        return;
    ash_dns_redirect_free(st->redirect);
    free(st->moves);
    free(st);
}

static const struct ash_undo_op dns_undo[] = {
    {"dns.redirect", ash_dns_redirect_undo, false, "removed the DNS redirect (nftables table {table}) in {where}"},
    {NULL, NULL, false, NULL}};

static int dns_fault_describe(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out,
                              ash_error_t *err)
{
    (void)err;
    const struct dns_fault_conf *c = f->conf;
    char names[256], clients[256], line[1024];
    ash_describe_join(names, sizeof names, &c->names, ", ");
    ash_describe_join(clients, sizeof clients, &c->clients, ", ");
    char own[400];
    snprintf(
        own, sizeof own,
        "a DNS server of the fault's own inside %s:%s's network namespace (its port-53 traffic redirected there by "
        "an nftables table; other names forwarded to its resolver)",
        c->target.name ? ash_target_type_names[c->target.type] : "", c->target.name ? c->target.name : "");
    const char *server = c->target.name         ? own
                         : d->scenario->n_hosts ? "the run's DNS server (bridge gateway :53)"
                                                : d->scenario->dns.listen;
    int n = snprintf(line, sizeof line, "%s answers [%s]", server ? server : "the run's DNS server", names);
    if (ash_node_ok(&c->split)) {
        n += snprintf(line + n, sizeof line - (size_t)n, " per client:");
        for (size_t i = 0; i < ash_map_size(&c->split) && n > 0 && (size_t)n < sizeof line; i++) {
            ash_node k, v;
            ash_map_pair(&c->split, i, &k, &v);
            n += snprintf(line + n, sizeof line - (size_t)n, "%s %s -> %s", i ? "," : "", ash_node_text(&k) ?: "?",
                          ash_node_text(&v) ?: "?");
        }
    } else if (c->answer >= 0) {
        n += snprintf(line + n, sizeof line - (size_t)n, " with %s%s%s", answer_names[c->answer], c->to ? " " : "",
                      c->to ? c->to : "");
    }
    if (c->move && n > 0 && (size_t)n < sizeof line)
        n +=
            snprintf(line + n, sizeof line - (size_t)n, "; their address records move to %s (back on revert)", c->move);
    if (c->delay_ns > 0 && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "; answers %.3f ms late", (double)c->delay_ns / 1e6);
    if (c->probability < 1.0 && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "; %.4g%% of matching queries", c->probability * 100);
    if (c->ttl >= 0 && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "; ttl %lld s", c->ttl);
    if (n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, "; clients: %s",
                 c->target.name ? "the target"
                 : c->clients.n ? clients
                                : "every client");
    if (c->target.name) {
        char table[ASH_OBJNAME_MAX + 1], tname[ASH_OBJNAME_MAX + 8];
        ash_objname(table, d->run_id, f->name);
        snprintf(tname, sizeof tname, "ip %s", table);
        char where[300];
        snprintf(where, sizeof where, "%s:%s (its network namespace)", ash_target_type_names[c->target.type],
                 c->target.name);
        ash_describe_object(out, "nft-table", tname, where, "dns.redirect", "udp/tcp port 53 redirected to 127.0.0.1");
    }
    json_object_set_new(out, "mechanism", json_string(line));
    return 0;
}

/* A container's queries are redirected inside its namespace and forwarded to its own
 * resolver: both are looked at before anything starts, touching nothing. */
static int dns_fault_preflight(const struct ash_fault_spec *f, const struct ash_target *t, ash_error_t *err)
{
    (void)f;
    if (geteuid() != 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                               "a dns fault on a container needs root (it enters the container's network namespace)");
    return ash_dns_redirect_check(t, err);
}

const struct ash_fault_kind ash_fault_dns = {
    .c = {.name = "dns",
          .summary = "the run's DNS server answers chosen names wrongly, late, sometimes, or per client",
          .fields = dns_fault_fields,
          .conf_size = sizeof(struct dns_fault_conf),
          .defaults = dns_fault_defaults,
          .validate = dns_fault_validate},
    .inject = dns_fault_inject,
    .revert = dns_fault_revert,
    .discard = dns_fault_discard,
    .undo_ops = dns_undo,
    .describe = dns_fault_describe,
    .preflight = dns_fault_preflight,
};
