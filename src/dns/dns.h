/* The run's own DNS server: sandbox host names and scenario records over UDP
 * and TCP on the event loop, with fault rules (`dns` fault kind) that change
 * the answers for chosen names and clients. Wire format by ldns. */
#ifndef ASH_DNS_DNS_H
#define ASH_DNS_DNS_H

#include <aftershock/error.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "scenario/scenario.h"
#include "sys/loop.h"

struct ash_dns;
struct ash_sandbox;

#define ASH_DNS_DEFAULT_TTL 5

/* What a rule answers instead of the truth. */
enum ash_dns_answer {
    ASH_DNS_CORRECT, /* the true answer (a split entry that leaves a client alone) */
    ASH_DNS_NXDOMAIN,
    ASH_DNS_SERVFAIL,
    ASH_DNS_REFUSED,
    ASH_DNS_TIMEOUT, /* no answer at all */
    ASH_DNS_WRONG,   /* A/AAAA answers `addr` */
    ASH_DNS_STALE,   /* the name's previous address (or, if it never moved, the one it had when the rule came) */
};
extern const char *const ash_dns_answer_names[]; /* "correct", "nxdomain", ..., NULL */

struct ash_dns_verdict {
    enum ash_dns_answer answer;
    char addr[INET6_ADDRSTRLEN]; /* ASH_DNS_WRONG: a literal address */
};

struct ash_dns_split {
    char client[INET6_ADDRSTRLEN]; /* source address of the client */
    struct ash_dns_verdict v;
};

/* One fault rule. The server copies it (strings included). */
struct ash_dns_rule {
    const char *const *names; /* globs (fnmatch, case-insensitive), without trailing dots */
    size_t n_names;
    const char *const *clients; /* source addresses; none = every client */
    size_t n_clients;
    struct ash_dns_verdict v; /* for clients not in split */
    const struct ash_dns_split *split;
    size_t n_split;
    int64_t delay_ns;   /* answer this much later (0: at once) */
    double probability; /* 0..1: share of matching queries the rule takes; the rest are answered truly */
    long long ttl;      /* TTL of answers under the rule; -1: the records' own */
};

/* A server with no records and no sockets. loop may be NULL for ash_dns_respond only (tests, fuzzing). */
int ash_dns_new(ash_loop *loop, struct ash_dns **out, ash_error_t *err);
/* Close sockets, cancel delayed answers, free. NULL is fine. */
void ash_dns_free(struct ash_dns *d);

/* Every sandbox host (A + PTR), "aftershock" (the gateway), and the scenario's records. */
int ash_dns_add_sandbox(struct ash_dns *d, struct ash_sandbox *sb, ash_error_t *err);
int ash_dns_add_scenario(struct ash_dns *d, const struct ash_dns_spec *spec, ash_error_t *err);
/* One record; type is enum ash_dns_rtype; value as in a zone file. */
int ash_dns_add_record(struct ash_dns *d, const char *name, int type, const char *value, long long ttl,
                       ash_error_t *err);
/* A host moved: its A record now says addr; the old one is remembered for `stale`. */
int ash_dns_move(struct ash_dns *d, const char *name, const char *addr, ash_error_t *err);
/* What a move replaced, kept whole, so that putting it back allocates nothing
 * and cannot fail (a fault's revert). Opaque to callers. */
struct ash_dns_undo {
    size_t rec;
    char *value;
    void *rr;
    char prev[INET6_ADDRSTRLEN];
};
/* ash_dns_move that fills undo (to be consumed by ash_dns_move_undo or ash_dns_undo_free). */
int ash_dns_move_keep(struct ash_dns *d, const char *name, const char *addr, struct ash_dns_undo *undo,
                      ash_error_t *err);
/* Put back what the move replaced: moves undone newest first end where they began. */
void ash_dns_move_undo(struct ash_dns *d, struct ash_dns_undo *undo);
/* Drop what an undo holds without putting it back. */
void ash_dns_undo_free(struct ash_dns_undo *undo);
/* The address `name` has now (first A record), or NULL. */
const char *ash_dns_lookup(const struct ash_dns *d, const char *name);

/* UDP and TCP sockets on addr:port, served from the loop. port 0: any free port. */
int ash_dns_listen(struct ash_dns *d, const char *addr, int port, ash_error_t *err);
/* The port actually bound by the last ash_dns_listen. */
int ash_dns_port(const struct ash_dns *d);

/* Forward queries for names the server has no record of to addr:port (IPv4) over UDP
 * from a socket made now, in the calling thread's network namespace, carrying `mark`
 * (SO_MARK, 0: none), instead of refusing them. A fault's rules apply first. */
int ash_dns_forward_to(struct ash_dns *d, const char *addr, int port, uint32_t mark, ash_error_t *err);
/* d now answers the queries of the network namespace with inode ino (a container's
 * DNS redirected to it); 0: none. Until then or ash_dns_free, ash_dns_of_netns(ino)
 * finds it: a probe of this process resolving from that namespace asks it in-process,
 * since a query over the wire would wait for this very event loop. Loop thread only. */
void ash_dns_serve_netns(struct ash_dns *d, unsigned long long ino);
struct ash_dns *ash_dns_of_netns(unsigned long long ino);
/* The forwarding socket's mark (SO_MARK), which a redirect lets by. */
uint32_t ash_dns_forward_mark(const struct ash_dns *d);

/* The engine's hook: a server for the run: sandbox mode on the gateway, port 53;
 * host mode where sc->dns.listen says; *out = NULL when host mode has no `dns:`. */
int ash_dns_start(ash_loop *loop, struct ash_sandbox *sb, const struct ash_scenario *sc, struct ash_dns **out,
                  ash_error_t *err);

/* Fault rules: added and removed at once (answers change with the next query). */
int ash_dns_rule_add(struct ash_dns *d, const struct ash_dns_rule *r, uint64_t *id, ash_error_t *err);
void ash_dns_rule_remove(struct ash_dns *d, uint64_t id);
/* How many queries a rule's names and clients have seen since it was added
 * (whether the rule or its probability took them); 0 for an unknown rule. */
uint64_t ash_dns_rule_asked(const struct ash_dns *d, uint64_t id);

/* The pure core: the answer to one query message from `from` (may be NULL).
 * Returns 1 with *out (malloc'd, *out_len bytes) and *delay_ns set, 0 when no
 * answer is due (a response, a runt, a timeout rule), -1 only when out of
 * memory; 2 when the query is to be forwarded as it is (ash_dns_forward_to: a name
 * without a record, *delay_ns set). Over UDP an answer larger than 512 bytes (or the client's EDNS size)
 * is truncated to its question with TC set; over TCP the limit is 65535. */
int ash_dns_respond(struct ash_dns *d, const uint8_t *q, size_t len, const struct sockaddr *from, bool tcp,
                    uint8_t **out, size_t *out_len, int64_t *delay_ns);

/* Counters (tests, benchmark). */
struct ash_dns_stats {
    uint64_t queries, answered, dropped, formerr, truncated, tcp_conns;
    uint64_t cached; /* of answered: replayed from an earlier answer to the same question (faults off) */
};
void ash_dns_get_stats(const struct ash_dns *d, struct ash_dns_stats *s);

#endif
