/* Internals of the DNS server shared by its files (records, answers, sockets); not an API. */
#ifndef ASH_DNS_DNS_INT_H
#define ASH_DNS_DNS_INT_H

#include "dns/dns.h"

#include <ldns/ldns.h>

struct ash_dns_rec {
    char *name; /* lower case, no trailing dot */
    int type;   /* enum ash_dns_rtype */
    char *value;
    uint32_t ttl;
    ldns_rr *rr;                 /* built once by ldns from "name. ttl IN TYPE value" */
    char prev[INET6_ADDRSTRLEN]; /* A/AAAA: the address before the last ash_dns_move ("" if none) */
    size_t hnext;                /* next record in the same hash bucket, in order; SIZE_MAX: none */
};

struct ash_dns_snap {
    char *name;
    char addr[INET6_ADDRSTRLEN];
};

struct ash_dns_rule_rt {
    uint64_t id;
    char **names;
    size_t n_names;
    char **clients;
    size_t n_clients;
    struct ash_dns_verdict v;
    struct ash_dns_split *split;
    size_t n_split;
    int64_t delay_ns;
    double probability;
    long long ttl;
    struct ash_dns_snap *snap; /* `stale`: each matching name's address when the rule came */
    size_t n_snap;
    uint64_t asked;                    /* queries for its names from its clients (taken or escaped by probability) */
    struct ash_dns_rule_rt *next;      /* newest first */
    bool indexed;                      /* filed by name (rule_index.c); else on the glob list */
    struct ash_dns_rule_rt *next_glob; /* the glob list, newest first */
};

struct ash_dns_rix;

struct ash_dns_delayed;
struct ash_dns_tcp;
struct ash_dns_fwd;

struct ash_dns {
    ash_loop *loop;
    struct ash_dns_rec *recs;
    size_t n_recs, cap_recs;
    /* Name index: per bucket the first and last record (SIZE_MAX: none), chained
     * through hnext in insertion order, so a query costs the same with 50 names
     * as with 100 000 (a scan of every record made it ~2000x slower there). */
    size_t *bucket_head, *bucket_tail;
    size_t n_buckets;  /* a power of two, >= n_recs; 0: no index yet */
    char rev_zone[64]; /* "y.x.10.in-addr.arpa" of the sandbox /24: unknown names there are NXDOMAIN */
    struct ash_dns_rule_rt *rules;
    struct ash_dns_rix *rix;            /* rules with plain names, by name (rule_index.c) */
    struct ash_dns_rule_rt *glob_rules; /* the others, tried in turn */
    uint64_t next_rule_id;
    uint64_t rng;
    ldns_rdf *origin; /* the root: relative names in record values are absolute */
    int udp_fd, tcp_fd;
    int port;
    struct ash_dns_delayed *delayed;
    struct ash_dns_tcp *conns;
    struct ash_dns_stats stats;
    struct ash_dns_fwd *fwd; /* names without a record go upstream (forward.c); NULL: refused */
    /* How an answer leaves (server.c's ash_dns_answer, set by ash_dns_new): forward.c sends
     * upstream's replies through it, so forwarding, below the server, never calls up into it. */
    void (*answer)(struct ash_dns *d, uint8_t *msg, size_t len, int64_t delay_ns, struct ash_dns_tcp *conn,
                   const struct sockaddr_storage *to, socklen_t to_len);
    unsigned long long netns_ino; /* ash_dns_serve_netns */
    struct ash_dns_kept **cache;  /* answer_cache.c; NULL until the first answer kept */
    size_t cache_slots;           /* a power of two, grown with the answers kept (answer_cache.c) */
    size_t cache_used;            /* slots holding an answer, current or stale */
    size_t cache_bytes;           /* allocated by the kept answers, bounded */
    uint64_t cache_gen;           /* bumped when the records change: older answers are stale */
    struct ash_dns *next_served;
};

/* answer_cache.c: answers in wire format, used while no upstream is set.
 * name: the question's name as the rules match it (ash_dns_norm_name's form),
 * false when the query is not a shape the cache takes. get: 1 and a copy of
 * the answer kept for this query and verdict (with the query's id and
 * spelling), 0 when none; put: keep the answer ldns built for them. */
bool ash_dns_cache_name(const uint8_t *q, size_t len, char *name, size_t cap);
int ash_dns_cache_get(struct ash_dns *d, const uint8_t *q, size_t len, const struct ash_dns_verdict *v, long long ttl,
                      uint8_t **out, size_t *out_len);
void ash_dns_cache_put(struct ash_dns *d, const uint8_t *q, size_t len, const struct ash_dns_verdict *v, long long ttl,
                       const uint8_t *ans, size_t ans_len);
void ash_dns_cache_free(struct ash_dns *d);

/* Lower-case copy of a query or record name without the trailing dot (malloc'd). */
char *ash_dns_norm_name(const char *s);
/* Records named `name` (normalised), in order: index of the first at or after `from`, or -1. */
ssize_t ash_dns_find(const struct ash_dns *d, const char *name, size_t from);
/* Send an answer (taking msg) to a TCP client, or over UDP to `to`, after delay_ns. */
void ash_dns_answer(struct ash_dns *d, uint8_t *msg, size_t len, int64_t delay_ns, struct ash_dns_tcp *conn,
                    const struct sockaddr_storage *to, socklen_t to_len);
/* forward.c: pass query q upstream; its answer goes to conn or `from` after delay_ns. */
void ash_dns_forward(struct ash_dns *d, const uint8_t *q, size_t len, int64_t delay_ns, struct ash_dns_tcp *conn,
                     const struct sockaddr_storage *from, socklen_t from_len);
/* A TCP client closed: its queries in flight are answered to nobody. */
void ash_dns_forward_forget(struct ash_dns *d, const struct ash_dns_tcp *conn);
void ash_dns_forward_free(struct ash_dns *d);
/* rule_index.c: rules whose names are all plain (no glob characters), by
 * name. add: 0, or -1 when out of memory (the rule is then not filed at all);
 * find: the rules filed under name (lower case), newest first. */
bool ash_dns_rule_is_plain(const struct ash_dns_rule_rt *r);
int ash_dns_rix_add(struct ash_dns *d, struct ash_dns_rule_rt *r);
void ash_dns_rix_remove(struct ash_dns *d, const struct ash_dns_rule_rt *r);
struct ash_dns_rule_rt *const *ash_dns_rix_find(const struct ash_dns *d, const char *name, size_t *n);
void ash_dns_rix_free(struct ash_dns *d);
/* Drop every rule (ash_dns_free). */
void ash_dns_rules_free(struct ash_dns *d);

#endif
