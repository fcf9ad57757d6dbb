/* Fault rules by name: the rules whose names are all plain (no glob), found
 * by a hash of the query's name instead of trying every rule.
 *
 * Why (issue 19): pick_rule tried every rule in turn with fnmatch, ~20 ns a
 * rule per query, so 1 000 rules that match nothing made a query ~8x dearer
 * than none. A plain name matches (fnmatch with FNM_CASEFOLD) exactly the
 * same name in any case, so those rules are filed under their names in lower
 * case; a rule with a glob among its names stays on a list tried in turn, as
 * before. Each name's rules are kept newest first, as d->rules is, so the
 * two can be merged by id into the order pick_rule always used. */
#include "dns/dns_int.h"

#include <stdlib.h>
#include <string.h>

struct ash_dns_rix_entry {
    char *name;                     /* lower case */
    struct ash_dns_rule_rt **rules; /* newest first */
    size_t n, cap;
    struct ash_dns_rix_entry *next;
};

struct ash_dns_rix {
    struct ash_dns_rix_entry **buckets;
    size_t n_buckets; /* a power of two */
    size_t n_entries;
};

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* Case-blind, so a rule's name and a query's (lower case already) hash alike. */
static size_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037u;
    for (; *s; s++)
        h = (h ^ (unsigned char)lower(*s)) * 1099511628211u;
    return (size_t)h;
}

static bool same_name(const char *key, const char *s)
{
    for (; *key && lower(*s) == *key; key++, s++)
        ;
    return !*key && !*s;
}

bool ash_dns_rule_is_plain(const struct ash_dns_rule_rt *r)
{
    if (r->n_names == 0)
        return false;
    for (size_t i = 0; i < r->n_names; i++)
        if (strpbrk(r->names[i], "*?[\\"))
            return false;
    return true;
}

static struct ash_dns_rix_entry *find(const struct ash_dns_rix *x, const char *name, size_t h)
{
    if (!x || !x->n_buckets)
        return NULL;
    for (struct ash_dns_rix_entry *e = x->buckets[h & (x->n_buckets - 1)]; e; e = e->next)
        if (same_name(e->name, name))
            return e;
    return NULL;
}

static int grow(struct ash_dns_rix *x)
{
    size_t n = x->n_buckets ? x->n_buckets * 2 : 64;
    struct ash_dns_rix_entry **b = calloc(n, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < x->n_buckets; i++)
        for (struct ash_dns_rix_entry *e = x->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t k = name_hash(e->name) & (n - 1);
            e->next = b[k];
            b[k] = e;
        }
    free(x->buckets);
    x->buckets = b;
    x->n_buckets = n;
    return 0;
}

/* File r (the newest rule: its id is above every filed one) under name. */
static int file_under(struct ash_dns_rix *x, const char *name, struct ash_dns_rule_rt *r)
{
    size_t h = name_hash(name);
    struct ash_dns_rix_entry *e = find(x, name, h);
    if (!e) {
        if (x->n_entries >= x->n_buckets && grow(x) < 0)
            return -1;
        e = calloc(1, sizeof *e);
        if (!e || !(e->name = strdup(name))) {
            free(e);
            return -1;
        }
        for (char *c = e->name; *c; c++)
            *c = lower(*c);
        size_t k = h & (x->n_buckets - 1);
        e->next = x->buckets[k];
        x->buckets[k] = e;
        x->n_entries++;
    }
    if (e->n && e->rules[0] == r)
        return 0; /* the same name twice in one rule: filed once */
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 2;
        struct ash_dns_rule_rt **v = realloc(e->rules, cap * sizeof *v);
        if (!v)
            return -1;
        e->rules = v;
        e->cap = cap;
    }
    memmove(e->rules + 1, e->rules, e->n * sizeof *e->rules);
    e->rules[0] = r;
    e->n++;
    return 0;
}

int ash_dns_rix_add(struct ash_dns *d, struct ash_dns_rule_rt *r)
{
    if (!d->rix && !(d->rix = calloc(1, sizeof *d->rix)))
        return -1;
    for (size_t i = 0; i < r->n_names; i++)
        if (file_under(d->rix, r->names[i], r) < 0) {
            ash_dns_rix_remove(d, r);
            return -1;
        }
    return 0;
}

void ash_dns_rix_remove(struct ash_dns *d, const struct ash_dns_rule_rt *r)
{
    for (size_t i = 0; d->rix && i < r->n_names; i++) {
        struct ash_dns_rix_entry *e = find(d->rix, r->names[i], name_hash(r->names[i]));
        for (size_t k = 0; e && k < e->n; k++)
            if (e->rules[k] == r) {
                memmove(e->rules + k, e->rules + k + 1, (e->n - k - 1) * sizeof *e->rules);
                e->n--;
                break;
            }
        /* An entry left empty stays: a name faulted once is likely faulted again. */
    }
}

struct ash_dns_rule_rt *const *ash_dns_rix_find(const struct ash_dns *d, const char *name, size_t *n)
{
    const struct ash_dns_rix_entry *e = find(d->rix, name, name_hash(name));
    *n = e ? e->n : 0;
    return e ? e->rules : NULL;
}

void ash_dns_rix_free(struct ash_dns *d)
{
    struct ash_dns_rix *x = d->rix;
    if (!x)
        return;
    for (size_t i = 0; i < x->n_buckets; i++)
        for (struct ash_dns_rix_entry *e = x->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e->name);
            free(e->rules);
            free(e);
        }
    free(x->buckets);
    free(x);
    d->rix = NULL;
}
