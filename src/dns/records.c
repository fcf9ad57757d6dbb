/* The DNS server's records: sandbox hosts, scenario records, moves; each record built once by ldns. */
#include "dns/dns_int.h"
#include "env/sandbox.h"
#include "scenario/dns_record.h"
#include "scenario/tables.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ash_dns_norm_name(const char *s)
{
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '.')
        n--;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
    return out;
}

/* FNV-1a over the normalised name. */
static size_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

ssize_t ash_dns_find(const struct ash_dns *d, const char *name, size_t from)
{
    if (!d->n_buckets)
        return -1;
    for (size_t i = d->bucket_head[name_hash(name) & (d->n_buckets - 1)]; i != SIZE_MAX; i = d->recs[i].hnext)
        if (i >= from && strcmp(d->recs[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static void index_append(struct ash_dns *d, size_t i)
{
    size_t b = name_hash(d->recs[i].name) & (d->n_buckets - 1);
    d->recs[i].hnext = SIZE_MAX;
    if (d->bucket_tail[b] == SIZE_MAX)
        d->bucket_head[b] = i;
    else
        d->recs[d->bucket_tail[b]].hnext = i;
    d->bucket_tail[b] = i;
}

/* Make room in the index for record n_recs (rebuilt, in order, when it doubles). */
static int index_grow(struct ash_dns *d)
{
    if (d->n_recs < d->n_buckets)
        return 0;
    size_t nb = d->n_buckets ? 2 * d->n_buckets : 64;
    size_t *head = malloc(nb * sizeof *head), *tail = malloc(nb * sizeof *tail);
    if (!head || !tail) {
        free(head);
        free(tail);
        return -1;
    }
    for (size_t b = 0; b < nb; b++)
        head[b] = tail[b] = SIZE_MAX;
    free(d->bucket_head);
    free(d->bucket_tail);
    d->bucket_head = head, d->bucket_tail = tail, d->n_buckets = nb;
    for (size_t i = 0; i < d->n_recs; i++)
        index_append(d, i);
    return 0;
}

int ash_dns_add_record(struct ash_dns *d, const char *name, int type, const char *value, long long ttl,
                       ash_error_t *err)
{
    char why[200];
    ldns_rr *rr = ash_dns_rr_build(name, type, value, ttl < 0 ? ASH_DNS_DEFAULT_TTL : ttl, d->origin, why, sizeof why);
    if (!rr)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "DNS record '%s': %s", name ? name : "", why);
    if (index_grow(d) < 0) {
        ldns_rr_free(rr);
        return ash_error(err, ENOMEM, "DNS records");
    }
    if (d->n_recs == d->cap_recs) {
        size_t cap = d->cap_recs ? 2 * d->cap_recs : 32;
        struct ash_dns_rec *v = realloc(d->recs, cap * sizeof *v);
        if (!v) {
            ldns_rr_free(rr);
            return ash_error(err, ENOMEM, "DNS records");
        }
        d->recs = v;
        d->cap_recs = cap;
    }
    struct ash_dns_rec *r = &d->recs[d->n_recs];
    *r = (struct ash_dns_rec){.name = ash_dns_norm_name(name),
                              .type = type,
                              .value = strdup(value),
                              .ttl = (uint32_t)(ttl < 0 ? ASH_DNS_DEFAULT_TTL : ttl),
                              .rr = rr};
    if (!r->name || !r->value) {
        free(r->name);
        free(r->value);
        ldns_rr_free(rr);
        return ash_error(err, ENOMEM, "DNS records");
    }
    index_append(d, d->n_recs);
    d->n_recs++;
    d->cache_gen++; /* every kept answer is stale: answer_cache.c */
    return 0;
}

int ash_dns_add_sandbox(struct ash_dns *d, struct ash_sandbox *sb, ash_error_t *err)
{
    /* The reverse zone of the /24: "10.130.7.0/24" -> "7.130.10.in-addr.arpa". */
    unsigned a, b, c;
    if (sscanf(ash_sandbox_subnet(sb), "%u.%u.%u.", &a, &b, &c) == 3)
        snprintf(d->rev_zone, sizeof d->rev_zone, "%u.%u.%u.in-addr.arpa", c, b, a);
    d->cache_gen++;
    if (ash_dns_add_record(d, "aftershock", ASH_DNS_A, ash_sandbox_gateway(sb), -1, err) < 0)
        return -1;
    /* Every host of the scenario, also those a fleet node builds (fleet.hosts). */
    for (size_t i = 0; i < ash_sandbox_n_names(sb); i++) {
        const char *addr, *name = ash_sandbox_name_at(sb, i, &addr);
        unsigned q[4];
        if (ash_dns_add_record(d, name, ASH_DNS_A, addr, -1, err) < 0)
            return -1;
        if (sscanf(addr, "%u.%u.%u.%u", &q[0], &q[1], &q[2], &q[3]) == 4) {
            char rev[64];
            snprintf(rev, sizeof rev, "%u.%u.%u.%u.in-addr.arpa", q[3], q[2], q[1], q[0]);
            if (ash_dns_add_record(d, rev, ASH_DNS_PTR, name, -1, err) < 0)
                return -1;
        }
    }
    return 0;
}

int ash_dns_add_scenario(struct ash_dns *d, const struct ash_dns_spec *spec, ash_error_t *err)
{
    for (size_t i = 0; spec && i < spec->n_records; i++) {
        const struct ash_dns_record_spec *r = &spec->records[i];
        if (ash_dns_add_record(d, r->name, r->type, r->value, r->ttl, err) < 0)
            return -1;
    }
    return 0;
}

static bool is_address_type(int type)
{
    return type == ASH_DNS_A || type == ASH_DNS_AAAA;
}

int ash_dns_move(struct ash_dns *d, const char *name, const char *addr, ash_error_t *err)
{
    return ash_dns_move_keep(d, name, addr, NULL, err);
}

int ash_dns_move_keep(struct ash_dns *d, const char *name, const char *addr, struct ash_dns_undo *undo,
                      ash_error_t *err)
{
    char *n = ash_dns_norm_name(name);
    if (!n)
        return ash_error(err, ENOMEM, "DNS move");
    struct in6_addr tmp;
    int type = inet_pton(AF_INET, addr, &tmp) == 1 ? ASH_DNS_A : ASH_DNS_AAAA;
    ssize_t i = -1;
    for (ssize_t k = ash_dns_find(d, n, 0); k >= 0; k = ash_dns_find(d, n, (size_t)k + 1))
        if (d->recs[k].type == type) {
            i = k;
            break;
        }
    free(n);
    if (i < 0)
        return ash_error(err, ENOENT, "DNS: no %s record named '%s' to move", ash_dns_rtype_names[type], name);
    struct ash_dns_rec *r = &d->recs[i];
    char why[200];
    ldns_rr *rr = ash_dns_rr_build(r->name, type, addr, r->ttl, d->origin, why, sizeof why);
    if (!rr)
        return ash_error(err, EINVAL, "DNS move of '%s': %s", name, why);
    char *value = strdup(addr);
    if (!value) {
        ldns_rr_free(rr);
        return ash_error(err, ENOMEM, "DNS move");
    }
    if (undo) {
        *undo = (struct ash_dns_undo){.rec = (size_t)i, .value = r->value, .rr = r->rr};
        snprintf(undo->prev, sizeof undo->prev, "%s", r->prev);
    }
    snprintf(r->prev, sizeof r->prev, "%s", r->value);
    if (!undo) {
        free(r->value);
        ldns_rr_free(r->rr);
    }
    r->value = value;
    r->rr = rr;
    d->cache_gen++;
    return 0;
}

void ash_dns_move_undo(struct ash_dns *d, struct ash_dns_undo *undo)
{
    if (!undo->value)
        return;
    struct ash_dns_rec *r = &d->recs[undo->rec];
    free(r->value);
    ldns_rr_free(r->rr);
    r->value = undo->value;
    r->rr = undo->rr;
    snprintf(r->prev, sizeof r->prev, "%s", undo->prev);
    *undo = (struct ash_dns_undo){0};
    d->cache_gen++;
}

void ash_dns_undo_free(struct ash_dns_undo *undo)
{
    free(undo->value);
    ldns_rr_free(undo->rr);
    *undo = (struct ash_dns_undo){0};
}

const char *ash_dns_lookup(const struct ash_dns *d, const char *name)
{
    char *n = ash_dns_norm_name(name);
    if (!n)
        return NULL;
    const char *out = NULL;
    for (ssize_t k = ash_dns_find(d, n, 0); k >= 0 && !out; k = ash_dns_find(d, n, (size_t)k + 1))
        if (is_address_type(d->recs[k].type))
            out = d->recs[k].value;
    free(n);
    return out;
}
