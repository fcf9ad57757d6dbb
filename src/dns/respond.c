/* The DNS server's answers: parse a query with ldns, apply fault rules, build the reply (truncated when too big);
 * with no fault rule, a question answered before is answered from answer_cache.c. */
#include "dns/dns_int.h"
#include "scenario/dns_record.h"
#include "scenario/tables.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ash_dns_answer_names[] = {"correct", "nxdomain",      "servfail", "refused",
                                            "timeout", "wrong-address", "stale",    NULL};

#define MAX_CNAME_HOPS 8
#define OUR_EDNS_SIZE 1232 /* what we accept and advertise: the usual no-fragmentation size */

/* ---- rules ---- */

static void free_rule(struct ash_dns_rule_rt *r)
{
    /* names/clients may be NULL: a rule whose copy failed half-way is freed here too. */
    for (size_t i = 0; r->names && i < r->n_names; i++)
        free(r->names[i]);
    for (size_t i = 0; r->clients && i < r->n_clients; i++)
        free(r->clients[i]);
    for (size_t i = 0; i < r->n_snap; i++)
        free(r->snap[i].name);
    free(r->names);
    free(r->clients);
    free(r->split);
    free(r->snap);
    free(r);
}

static bool name_matches(const struct ash_dns_rule_rt *r, const char *name)
{
    for (size_t i = 0; i < r->n_names; i++)
        if (fnmatch(r->names[i], name, FNM_CASEFOLD) == 0)
            return true;
    return false;
}

static bool uses_stale(const struct ash_dns_rule_rt *r)
{
    if (r->v.answer == ASH_DNS_STALE)
        return true;
    for (size_t i = 0; i < r->n_split; i++)
        if (r->split[i].v.answer == ASH_DNS_STALE)
            return true;
    return false;
}

/* `stale` freezes, per matching name, the address a cache would still hold:
 * the one before the name last moved, or else the one it has now (so a move
 * while the rule is in force is not seen). */
static int take_snapshots(struct ash_dns *d, struct ash_dns_rule_rt *r)
{
    for (size_t i = 0; i < d->n_recs; i++) {
        const struct ash_dns_rec *rec = &d->recs[i];
        if ((rec->type != ASH_DNS_A && rec->type != ASH_DNS_AAAA) || !name_matches(r, rec->name))
            continue;
        bool seen = false;
        for (size_t k = 0; k < r->n_snap && !seen; k++)
            seen = strcmp(r->snap[k].name, rec->name) == 0;
        if (seen)
            continue;
        struct ash_dns_snap *v = realloc(r->snap, (r->n_snap + 1) * sizeof *v);
        if (!v)
            return -1;
        r->snap = v;
        v[r->n_snap].name = strdup(rec->name);
        if (!v[r->n_snap].name)
            return -1;
        snprintf(v[r->n_snap].addr, sizeof v[r->n_snap].addr, "%s", rec->prev[0] ? rec->prev : rec->value);
        r->n_snap++;
    }
    return 0;
}

static char **copy_strings(const char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        out[i] = strdup(v[i]);
        if (!out[i]) {
            for (size_t k = 0; k < i; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
    }
    return out;
}

int ash_dns_rule_add(struct ash_dns *d, const struct ash_dns_rule *r, uint64_t *id, ash_error_t *err)
{
    struct ash_dns_rule_rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return ash_error(err, ENOMEM, "DNS rule");
    rt->n_names = r->n_names;
    rt->n_clients = r->n_clients;
    rt->names = copy_strings(r->names, r->n_names);
    rt->clients = copy_strings(r->clients, r->n_clients);
    rt->v = r->v;
    rt->n_split = r->n_split;
    rt->split = calloc(r->n_split + 1, sizeof *rt->split);
    rt->delay_ns = r->delay_ns;
    rt->probability = r->probability;
    rt->ttl = r->ttl;
    if (!rt->names || !rt->clients || !rt->split)
        goto nomem;
    for (size_t i = 0; i < r->n_split; i++)
        rt->split[i] = r->split[i];
    if (uses_stale(rt) && take_snapshots(d, rt) < 0)
        goto nomem;
    rt->id = ++d->next_rule_id;
    rt->next = d->rules;
    d->rules = rt;
    /* Out of memory for the index, a plain rule is tried in turn like a glob: same answers. */
    rt->indexed = ash_dns_rule_is_plain(rt) && ash_dns_rix_add(d, rt) == 0;
    if (!rt->indexed) {
        rt->next_glob = d->glob_rules;
        d->glob_rules = rt;
    }
    *id = rt->id;
    return 0;
nomem:
    free_rule(rt);
    return ash_error(err, ENOMEM, "DNS rule");
}

void ash_dns_rule_remove(struct ash_dns *d, uint64_t id)
{
    for (struct ash_dns_rule_rt **p = &d->rules; *p; p = &(*p)->next)
        if ((*p)->id == id) {
            struct ash_dns_rule_rt *r = *p;
            *p = r->next;
            if (r->indexed)
                ash_dns_rix_remove(d, r);
            for (struct ash_dns_rule_rt **g = &d->glob_rules; !r->indexed && *g; g = &(*g)->next_glob)
                if (*g == r) {
                    *g = r->next_glob;
                    break;
                }
            free_rule(r);
            return;
        }
}

uint64_t ash_dns_rule_asked(const struct ash_dns *d, uint64_t id)
{
    for (const struct ash_dns_rule_rt *r = d->rules; r; r = r->next)
        if (r->id == id)
            return r->asked;
    return 0;
}

void ash_dns_rules_free(struct ash_dns *d)
{
    while (d->rules) {
        struct ash_dns_rule_rt *r = d->rules;
        d->rules = r->next;
        free_rule(r);
    }
    d->glob_rules = NULL;
    ash_dns_rix_free(d);
}

static double next_random(struct ash_dns *d)
{
    /* xorshift64*: the probability draw needs speed and spread, not secrecy. */
    uint64_t x = d->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->rng = x;
    return (double)((x * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

/* The newest rule that takes this query; sets *v to what it answers. name is
 * in lower case. The rules filed under the name and the glob rules that match
 * it, merged newest first: the order of d->rules, without trying the rest. */
static const struct ash_dns_rule_rt *pick_rule(struct ash_dns *d, const char *name, const char *client,
                                               struct ash_dns_verdict *v)
{
    size_t n_filed, k = 0;
    struct ash_dns_rule_rt *const *filed = ash_dns_rix_find(d, name, &n_filed);
    struct ash_dns_rule_rt *g = d->glob_rules;
    for (;;) {
        struct ash_dns_rule_rt *r;
        if (k < n_filed && (!g || filed[k]->id > g->id)) {
            r = filed[k++];
        } else if (g) {
            r = g;
            g = g->next_glob;
            if (!name_matches(r, name))
                continue;
        } else {
            break;
        }
        const struct ash_dns_verdict *pick = NULL;
        for (size_t i = 0; i < r->n_split && !pick; i++)
            if (strcmp(r->split[i].client, client) == 0)
                pick = &r->split[i].v;
        if (!pick) {
            bool listed = r->n_clients == 0;
            for (size_t i = 0; i < r->n_clients && !listed; i++)
                listed = strcmp(r->clients[i], client) == 0;
            if (!listed)
                continue;
            pick = &r->v;
        }
        r->asked++;
        if (r->probability < 1.0 && next_random(d) >= r->probability)
            return NULL; /* this query escapes the fault: answered truly */
        *v = *pick;
        if (v->answer == ASH_DNS_STALE) {
            v->answer = ASH_DNS_CORRECT; /* a name that had no address when the rule came */
            for (size_t i = 0; i < r->n_snap; i++)
                if (strcmp(r->snap[i].name, name) == 0) {
                    v->answer = ASH_DNS_WRONG;
                    snprintf(v->addr, sizeof v->addr, "%s", r->snap[i].addr);
                }
        }
        return r;
    }
    return NULL;
}

/* ---- answers ---- */

static bool ends_with_zone(const char *name, const char *zone)
{
    size_t n = strlen(name), z = strlen(zone);
    if (!z || n < z || strcmp(name + n - z, zone) != 0)
        return false;
    return n == z || name[n - z - 1] == '.';
}

static bool type_matches(ldns_rr_type q, const ldns_rr *rr)
{
    return q == LDNS_RR_TYPE_ANY || ldns_rr_get_type(rr) == q;
}

/* A copy of rec's rr under the query's own spelling of the owner (0x20-safe). */
static bool push_answer(ldns_pkt *p, const ldns_rr *rr, const ldns_rdf *owner, long long ttl)
{
    ldns_rr *c = ldns_rr_clone(rr);
    if (!c)
        return false;
    if (owner) {
        ldns_rdf *o = ldns_rdf_clone(owner);
        if (!o) {
            ldns_rr_free(c);
            return false;
        }
        ldns_rdf_deep_free(ldns_rr_owner(c));
        ldns_rr_set_owner(c, o);
    }
    if (ttl >= 0)
        ldns_rr_set_ttl(c, (uint32_t)ttl);
    if (!ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, c)) {
        ldns_rr_free(c);
        return false;
    }
    return true;
}

/* The true answer: records of the name, CNAMEs followed inside our data. */
static int answer_truth(struct ash_dns *d, ldns_pkt *p, const char *name, const ldns_rdf *qname, ldns_rr_type qt,
                        long long ttl)
{
    char *cur = strdup(name);
    if (!cur)
        return -1;
    const ldns_rdf *owner = qname;
    bool any = false;
    for (int hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
        ssize_t first = ash_dns_find(d, cur, 0);
        if (first < 0)
            break;
        any = true;
        const struct ash_dns_rec *cname = NULL;
        bool found = false;
        for (ssize_t k = first; k >= 0; k = ash_dns_find(d, cur, (size_t)k + 1)) {
            const struct ash_dns_rec *r = &d->recs[k];
            if (type_matches(qt, r->rr)) {
                if (!push_answer(p, r->rr, owner, ttl))
                    goto nomem;
                found = true;
            } else if (r->type == ASH_DNS_CNAME && !cname) {
                cname = r;
            }
        }
        if (found || !cname)
            break;
        if (!push_answer(p, cname->rr, owner, ttl))
            goto nomem;
        free(cur);
        cur = ash_dns_norm_name(cname->value);
        if (!cur)
            return -1;
        owner = NULL; /* the target's records under their own names */
    }
    free(cur);
    if (!any) {
        /* Only what the sandbox holds: its reverse zone has no other names; nothing else is ours. */
        ldns_pkt_set_rcode(p, ends_with_zone(name, d->rev_zone) ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_REFUSED);
        ldns_pkt_set_aa(p, ends_with_zone(name, d->rev_zone));
    }
    return 0;
nomem:
    free(cur);
    return -1;
}

static int answer_address(struct ash_dns *d, ldns_pkt *p, const ldns_rdf *qname, ldns_rr_type qt, const char *addr,
                          long long ttl)
{
    (void)d;
    struct in6_addr bin;
    bool v4 = inet_pton(AF_INET, addr, &bin) == 1;
    if (!v4 && inet_pton(AF_INET6, addr, &bin) != 1)
        return 0; /* the fault's address was checked when it was injected */
    ldns_rr_type want = v4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
    if (qt != want && qt != LDNS_RR_TYPE_ANY)
        return 0; /* NOERROR, no data: the other family has nothing */
    /* Built from the parts, not from "owner ttl IN A addr" text: printing and
     * re-parsing the record per query cost ~40% more CPU per query under a
     * fault on every name (bench_dns -s). */
    ldns_rr *rr = ldns_rr_new();
    ldns_rdf *owner = ldns_rdf_clone(qname);
    ldns_rdf *rd = ldns_rdf_new_frm_data(v4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, v4 ? 4 : 16, &bin);
    if (!rr || !owner || !rd) {
        ldns_rr_free(rr);
        ldns_rdf_deep_free(owner);
        ldns_rdf_deep_free(rd);
        return -1;
    }
    ldns_rr_set_owner(rr, owner);
    ldns_rr_set_type(rr, want);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr, (uint32_t)(ttl >= 0 ? ttl : ASH_DNS_DEFAULT_TTL));
    if (!ldns_rr_push_rdf(rr, rd)) {
        ldns_rdf_deep_free(rd);
        ldns_rr_free(rr);
        return -1;
    }
    if (!ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr)) {
        ldns_rr_free(rr);
        return -1;
    }
    return 0;
}

/* Header-only reply to a message ldns could not read: FORMERR with the client's id. */
static int formerr(struct ash_dns *d, const uint8_t *q, uint8_t **out, size_t *out_len)
{
    d->stats.formerr++;
    ldns_pkt *p = ldns_pkt_new();
    if (!p)
        return -1;
    ldns_pkt_set_id(p, (uint16_t)((q[0] << 8) | q[1]));
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_opcode(p, (ldns_pkt_opcode)((q[2] >> 3) & 0x0f));
    ldns_pkt_set_rcode(p, LDNS_RCODE_FORMERR);
    ldns_status st = ldns_pkt2wire(out, p, out_len);
    ldns_pkt_free(p);
    return st == LDNS_STATUS_OK ? 1 : -1;
}

static ldns_pkt *reply_skeleton(const ldns_pkt *q)
{
    ldns_pkt *p = ldns_pkt_new();
    if (!p)
        return NULL;
    ldns_pkt_set_id(p, ldns_pkt_id(q));
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_opcode(p, ldns_pkt_get_opcode(q));
    ldns_pkt_set_rd(p, ldns_pkt_rd(q));
    ldns_pkt_set_cd(p, ldns_pkt_cd(q));
    ldns_pkt_set_ra(p, false); /* no recursion: the sandbox has no upstream */
    if (ldns_pkt_edns(q))
        ldns_pkt_set_edns_udp_size(p, OUR_EDNS_SIZE);
    for (size_t i = 0; i < ldns_pkt_qdcount(q); i++) {
        ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), i));
        if (!c || !ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, c)) {
            ldns_rr_free(c);
            ldns_pkt_free(p);
            return NULL;
        }
    }
    return p;
}

static void client_string(const struct sockaddr *from, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!from)
        return;
    if (from->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)from)->sin_addr, buf, (socklen_t)len);
    } else if (from->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)from)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)len);
        else
            inet_ntop(AF_INET6, a, buf, (socklen_t)len);
    }
}

/* Serialise; when the message does not fit the transport, send the header and
 * question with TC set, so the client retries over TCP (RFC 1035 4.2.1, RFC 6891). */
static int finish(struct ash_dns *d, ldns_pkt *p, size_t limit, uint8_t **out, size_t *out_len)
{
    if (ldns_pkt2wire(out, p, out_len) != LDNS_STATUS_OK)
        return -1;
    if (*out_len <= limit)
        return 1;
    free(*out);
    *out = NULL;
    d->stats.truncated++;
    ldns_rr_list_deep_free(ldns_pkt_answer(p));
    ldns_pkt_set_answer(p, ldns_rr_list_new());
    ldns_pkt_set_ancount(p, 0);
    ldns_pkt_set_tc(p, true);
    if (ldns_pkt2wire(out, p, out_len) != LDNS_STATUS_OK)
        return -1;
    return 1;
}

int ash_dns_respond(struct ash_dns *d, const uint8_t *q, size_t len, const struct sockaddr *from, bool tcp,
                    uint8_t **out, size_t *out_len, int64_t *delay_ns)
{
    *out = NULL;
    *out_len = 0;
    *delay_ns = 0;
    d->stats.queries++;
    /* A runt has no id to answer to; a response is never answered (no loops between servers). */
    if (len < LDNS_HEADER_SIZE || (q[2] & 0x80)) {
        d->stats.dropped++;
        return 0;
    }
    /* The answer depends only on the query, the records and the fault rule
     * that takes it: read the name by hand (answer_cache.c says why), let the
     * rules judge it, and replay the answer ldns built last time for the same.
     * Not with an upstream (names without a record are its to answer). The
     * rules judge each query once: here, or below when the name is not one
     * read by hand (a query that passed the hand check but that ldns then
     * rejects as malformed has counted for its rule: FORMERR either way). */
    char hname[LDNS_MAX_DOMAINLEN + 1];
    bool picked = !d->fwd && ash_dns_cache_name(q, len, hname, sizeof hname);
    struct ash_dns_verdict v = {.answer = ASH_DNS_CORRECT};
    const struct ash_dns_rule_rt *rule = NULL;
    long long ttl = -1;
    char client[INET6_ADDRSTRLEN];
    if (picked) {
        client_string(from, client, sizeof client);
        rule = pick_rule(d, hname, client, &v);
        ttl = rule ? rule->ttl : -1;
        if (rule)
            *delay_ns = rule->delay_ns;
        if (v.answer == ASH_DNS_TIMEOUT) {
            d->stats.dropped++;
            return 0;
        }
        if (ash_dns_cache_get(d, q, len, &v, ttl, out, out_len) == 1) {
            d->stats.answered++;
            d->stats.cached++;
            return 1;
        }
    }
    ldns_pkt *query = NULL;
    if (ldns_wire2pkt(&query, q, len) != LDNS_STATUS_OK) {
        ldns_pkt_free(query);
        return formerr(d, q, out, out_len);
    }
    int ret = -1;
    char *name = NULL;
    ldns_pkt *p = reply_skeleton(query);
    if (!p)
        goto out;
    size_t limit = 65535;
    if (!tcp) {
        limit = 512;
        if (ldns_pkt_edns(query) && ldns_pkt_edns_udp_size(query) > 512)
            limit = ldns_pkt_edns_udp_size(query) < OUR_EDNS_SIZE ? ldns_pkt_edns_udp_size(query) : OUR_EDNS_SIZE;
    }
    if (ldns_pkt_get_opcode(query) != LDNS_PACKET_QUERY) {
        ldns_pkt_set_rcode(p, LDNS_RCODE_NOTIMPL);
        ret = finish(d, p, limit, out, out_len);
        goto out;
    }
    if (ldns_pkt_qdcount(query) != 1) {
        d->stats.formerr++;
        ldns_pkt_set_rcode(p, LDNS_RCODE_FORMERR);
        ret = finish(d, p, limit, out, out_len);
        goto out;
    }
    const ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(query), 0);
    const ldns_rdf *qname = ldns_rr_owner(question);
    ldns_rr_type qt = ldns_rr_get_type(question);
    char *qstr = qname ? ldns_rdf2str(qname) : NULL;
    name = qstr ? ash_dns_norm_name(qstr) : NULL;
    free(qstr);
    if (!name)
        goto out;
    if (ldns_rr_get_class(question) != LDNS_RR_CLASS_IN) {
        ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED);
        ret = finish(d, p, limit, out, out_len);
        goto out;
    }
    if (!picked) {
        client_string(from, client, sizeof client);
        rule = pick_rule(d, name, client, &v);
    }
    ttl = rule ? rule->ttl : -1;
    if (rule)
        *delay_ns = rule->delay_ns;
    ldns_pkt_set_aa(p, true);
    switch (v.answer) {
    case ASH_DNS_TIMEOUT:
        d->stats.dropped++;
        ret = 0;
        goto out;
    case ASH_DNS_NXDOMAIN:
        ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
        break;
    case ASH_DNS_SERVFAIL:
        ldns_pkt_set_aa(p, false);
        ldns_pkt_set_rcode(p, LDNS_RCODE_SERVFAIL);
        break;
    case ASH_DNS_REFUSED:
        ldns_pkt_set_aa(p, false);
        ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED);
        break;
    case ASH_DNS_WRONG:
    case ASH_DNS_STALE: /* resolved to WRONG with its snapshot by pick_rule */
        if (answer_address(d, p, qname, qt, v.addr, ttl) < 0)
            goto out;
        break;
    case ASH_DNS_CORRECT:
    default:
        if (d->fwd && ash_dns_find(d, name, 0) < 0) {
            ret = 2; /* not ours: the upstream's answer, as the client would have had it */
            goto out;
        }
        if (answer_truth(d, p, name, qname, qt, ttl) < 0)
            goto out;
        break;
    }
    ret = finish(d, p, limit, out, out_len);
out:
    if (ret == 1)
        d->stats.answered++;
    if (ret == 1 && picked)
        ash_dns_cache_put(d, q, len, &v, ttl, *out, *out_len);
    free(name);
    ldns_pkt_free(p);
    ldns_pkt_free(query);
    return ret;
}
