/* Answers already built, kept in wire format and replayed with the query's id and spelling.
 *
 * Why by hand (issue 19): with faults off, a query cost ~5 µs of CPU against
 * dnsmasq's ~3.5 µs, and perf put most of ours in ldns (wire2pkt, cloning
 * records, pkt2wire, formatting the name to look it up: malloc and free per
 * field). The answer to the same question over the same records is the same
 * bytes, so the first answer is built by ldns as before and kept; later ones
 * copy it. Reading a query here is only the check that it has the shape the
 * kept answers were made for (a standard query, one question of class IN with
 * an uncompressed name of letters, digits, '-' and '_', at most an EDNS OPT
 * record) and that name as text for the fault rules; everything else (and
 * every query while an upstream is set) goes through ldns. An answer is kept
 * with the verdict and TTL of the fault rule that made it, and replayed only
 * for the same; a change to the records drops every kept answer. */
#include "dns/dns_int.h"

#include <stdlib.h>
#include <string.h>

/* An open-addressing table (linear probing) of pointers to the answers,
 * grown by doubling while more than half its slots are used, from 1 024 up to
 * 256k slots (2 MiB): it follows the names asked, so every answer is kept
 * until then (issue 19: 1 024 direct-mapped slots and 100 000 names cycled
 * through replayed nothing, 2.3-3.6x the CPU per query of 50 names). Past it, up
 * to three quarters are used, then an answer replaces another on its way.
 * Slots are only ever emptied all at once, so no probe chain is cut. */
#define CACHE_MIN_SLOTS 1024u
#define CACHE_MAX_SLOTS (256u * 1024)
/* Bigger ones are not kept; all kept answers are below 400 bytes, so fit
 * every transport untruncated and serve UDP and TCP alike. */
#define CACHE_ENTRY_BYTES 400
/* Every kept answer is allocated at its own length (~100 bytes for an A
 * record); their sum is bounded: past it, answers are built but not kept. */
#define CACHE_MAX_BYTES (32u << 20)

struct ash_dns_kept {
    uint64_t gen; /* d->cache_gen when made */
    long long ttl;
    uint32_t hash; /* mix(key_hash ^ verdict_hash): compared first */
    enum ash_dns_answer answer;
    uint16_t klen; /* the query without its id, name in lower case: buf[0, klen) */
    uint16_t qend; /* where the question ends: the answer's own bytes follow */
    uint16_t len;  /* the whole answer as ldns built it, kept without its question (each
                    * replay has the query's own): header at buf[klen], the rest after it */
    uint8_t alen;  /* the verdict's address, no NUL: after the answer's bytes */
    uint8_t buf[];
};

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* End of the question when q is a shape the cache takes (see the top), else 0;
 * *name_end: end of the question's name. Length octets are below 64, so
 * lowering every byte of the name touches only its letters. */
static size_t question_end(const uint8_t *q, size_t len, size_t *name_end)
{
    if (len < LDNS_HEADER_SIZE + 5 || len > CACHE_ENTRY_BYTES)
        return 0;
    /* Opcode QUERY; QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1 */
    if ((q[2] & 0x78) || q[4] || q[5] != 1 || q[6] || q[7] || q[8] || q[9] || q[10] || q[11] > 1)
        return 0;
    size_t i = LDNS_HEADER_SIZE;
    while (i < len && q[i]) {
        if (q[i] & 0xc0) /* a compression pointer or a reserved label type */
            return 0;
        i += 1u + q[i];
    }
    if (i >= len || i + 1 - LDNS_HEADER_SIZE > LDNS_MAX_DOMAINLEN)
        return 0;
    *name_end = ++i;
    size_t qend = i + 4;
    if (qend > len || q[i + 2] != 0 || q[i + 3] != LDNS_RR_CLASS_IN)
        return 0;
    if (q[11] == 0)
        return qend == len ? qend : 0;
    /* The one additional record: an OPT owned by the root, and nothing after it. */
    if (qend + 11 > len || q[qend] || q[qend + 1] || q[qend + 2] != LDNS_RR_TYPE_OPT)
        return 0;
    size_t rdlen = (size_t)q[qend + 9] << 8 | q[qend + 10];
    return qend + 11 + rdlen == len ? qend : 0;
}

bool ash_dns_cache_name(const uint8_t *q, size_t len, char *name, size_t cap)
{
    size_t name_end;
    if (!question_end(q, len, &name_end) || name_end == LDNS_HEADER_SIZE + 1 || cap < LDNS_MAX_DOMAINLEN + 1)
        return false;
    /* What ldns_rdf2str and ash_dns_norm_name make of it: labels joined by
     * dots, in lower case, no trailing dot. Other bytes are escaped by ldns:
     * left to it. */
    size_t o = 0;
    for (size_t i = LDNS_HEADER_SIZE; q[i]; i += 1u + q[i]) {
        if (o)
            name[o++] = '.';
        for (size_t k = 1; k <= q[i]; k++) {
            uint8_t c = lower(q[i + k]);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                return false;
            name[o++] = (char)c;
        }
    }
    name[o] = '\0';
    return true;
}

static uint32_t key_hash(const uint8_t *q, size_t len, size_t name_end)
{
    uint32_t h = 2166136261u; /* FNV-1a over the key: the query from its flags on, name lowered */
    for (size_t i = 2; i < len; i++)
        h = (h ^ (i < name_end ? lower(q[i]) : q[i])) * 16777619u;
    return h;
}

/* A fault's answers go to other slots than the truth's for the same question:
 * a split fault (one answer for some clients, the truth for others) or one
 * with a probability would otherwise evict one with the other on every query. */
static uint32_t verdict_hash(const struct ash_dns_verdict *v, long long ttl)
{
    if (v->answer == ASH_DNS_CORRECT && ttl < 0)
        return 0;
    uint32_t h = ((uint32_t)v->answer + 1) * 2654435761u ^ (uint32_t)ttl * 40503u;
    for (const char *c = v->addr; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    return h;
}

/* FNV-1a's low bits, the slot index, mix only the low bits of each byte:
 * names that differ in a digit or two crowd together without this finish
 * (murmur3's). */
static uint32_t mix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}

static bool key_equal(const struct ash_dns_kept *s, const uint8_t *q, size_t len, size_t name_end)
{
    if (s->klen != len - 2)
        return false;
    for (size_t i = 2; i < len; i++)
        if (s->buf[i - 2] != (i < name_end ? lower(q[i]) : q[i]))
            return false;
    return true;
}

/* Bytes of the answer kept: all but its question. */
static size_t kept_len(const struct ash_dns_kept *s)
{
    return s->len - (s->qend - LDNS_HEADER_SIZE);
}

static bool same_verdict(const struct ash_dns_kept *s, const struct ash_dns_verdict *v, long long ttl)
{
    size_t alen = strlen(v->addr);
    return s->answer == v->answer && s->ttl == ttl && s->alen == alen &&
           memcmp(s->buf + s->klen + kept_len(s), v->addr, alen) == 0;
}

static bool same_key(const struct ash_dns_kept *s, uint32_t h, const uint8_t *q, size_t len, size_t qend,
                     size_t name_end, const struct ash_dns_verdict *v, long long ttl)
{
    return s->hash == h && s->qend == qend && key_equal(s, q, len, name_end) && same_verdict(s, v, ttl);
}

/* The answer kept for this query and verdict, or NULL. */
static struct ash_dns_kept *find(const struct ash_dns *d, uint32_t h, const uint8_t *q, size_t len, size_t qend,
                                 size_t name_end, const struct ash_dns_verdict *v, long long ttl)
{
    size_t mask = d->cache_slots - 1;
    for (size_t j = h & mask, n = 0; d->cache[j] && n < d->cache_slots; j = (j + 1) & mask, n++) {
        struct ash_dns_kept *s = d->cache[j];
        if (s->gen == d->cache_gen && same_key(s, h, q, len, qend, name_end, v, ttl))
            return s;
    }
    return NULL;
}

int ash_dns_cache_get(struct ash_dns *d, const uint8_t *q, size_t len, const struct ash_dns_verdict *v, long long ttl,
                      uint8_t **out, size_t *out_len)
{
    size_t name_end;
    size_t qend = d->cache ? question_end(q, len, &name_end) : 0;
    if (!qend)
        return 0;
    const struct ash_dns_kept *s =
        find(d, mix(key_hash(q, len, name_end) ^ verdict_hash(v, ttl)), q, len, qend, name_end, v, ttl);
    if (!s)
        return 0;
    uint8_t *a = malloc(s->len);
    if (!a)
        return 0;
    /* The client's id, and its question as it spelled it (0x20); the answer's
     * names point back into the question, so they read as spelled too. */
    memcpy(a, s->buf + s->klen, LDNS_HEADER_SIZE);
    a[0] = q[0];
    a[1] = q[1];
    memcpy(a + LDNS_HEADER_SIZE, q + LDNS_HEADER_SIZE, qend - LDNS_HEADER_SIZE);
    memcpy(a + qend, s->buf + s->klen + LDNS_HEADER_SIZE, s->len - qend);
    *out = a;
    *out_len = s->len;
    return 1;
}

/* Whether the name q[from, to) appears in the answer's own bytes, in any case:
 * then the answer spells it as this query did, and another spelling must not get it. */
static bool spells_name(const uint8_t *ans, size_t len, size_t from, const uint8_t *q, size_t name_from, size_t name_to)
{
    size_t n = name_to - name_from;
    for (size_t i = from; i + n <= len; i++) {
        size_t k = 0;
        while (k < n && lower(ans[i + k]) == lower(q[name_from + k]))
            k++;
        if (k == n)
            return true;
    }
    return false;
}

static size_t kept_size(const struct ash_dns_kept *s)
{
    return sizeof *s + s->klen + kept_len(s) + s->alen;
}

/* Double the slots (or make the first ones), moving the answers still
 * current and freeing the stale; 0, or -1 when out of memory (nothing changed). */
static int grow(struct ash_dns *d)
{
    size_t slots = d->cache ? 2 * d->cache_slots : CACHE_MIN_SLOTS;
    struct ash_dns_kept **t = calloc(slots, sizeof *t);
    if (!t)
        return -1;
    size_t used = 0;
    for (size_t i = 0; d->cache && i < d->cache_slots; i++) {
        struct ash_dns_kept *s = d->cache[i];
        if (!s)
            continue;
        if (s->gen != d->cache_gen) {
            d->cache_bytes -= kept_size(s);
            free(s);
            continue;
        }
        size_t j = s->hash & (slots - 1);
        while (t[j])
            j = (j + 1) & (slots - 1);
        t[j] = s;
        used++;
    }
    free(d->cache);
    d->cache = t;
    d->cache_slots = slots;
    d->cache_used = used;
    return 0;
}

/* The slot the answer goes to: its own or a stale one on its probe chain, or
 * the empty one ending it; when the table is as full as it gets, the first
 * answer on the chain. SIZE_MAX: none (not kept). */
static size_t pick_slot(struct ash_dns *d, uint32_t h, const uint8_t *q, size_t len, size_t qend, size_t name_end,
                        const struct ash_dns_verdict *v, long long ttl)
{
    if (!d->cache || (2 * (d->cache_used + 1) > d->cache_slots && d->cache_slots < CACHE_MAX_SLOTS)) {
        if (grow(d) < 0 && !d->cache)
            return SIZE_MAX;
    }
    size_t mask = d->cache_slots - 1, first = SIZE_MAX;
    for (size_t j = h & mask, n = 0; n < d->cache_slots; j = (j + 1) & mask, n++) {
        const struct ash_dns_kept *s = d->cache[j];
        if (!s)
            return 4 * (d->cache_used + 1) <= 3 * d->cache_slots ? j : first;
        if (s->gen != d->cache_gen || same_key(s, h, q, len, qend, name_end, v, ttl))
            return j;
        if (first == SIZE_MAX)
            first = j;
    }
    return first;
}

void ash_dns_cache_put(struct ash_dns *d, const uint8_t *q, size_t len, const struct ash_dns_verdict *v, long long ttl,
                       const uint8_t *ans, size_t ans_len)
{
    size_t name_end;
    size_t qend = question_end(q, len, &name_end);
    /* A truncated answer (TC) depends on the transport: not kept. Only an
     * answer that echoes the question as sent and names it only by pointers
     * can be replayed for another spelling; the root name (one byte) proves
     * nothing by its absence, so it is not kept. */
    if (!qend || len - 2 + ans_len > CACHE_ENTRY_BYTES || ans_len < qend || (ans[2] & 0x02) ||
        name_end == LDNS_HEADER_SIZE + 1 ||
        memcmp(ans + LDNS_HEADER_SIZE, q + LDNS_HEADER_SIZE, qend - LDNS_HEADER_SIZE) != 0 ||
        spells_name(ans, ans_len, qend, q, LDNS_HEADER_SIZE, name_end))
        return;
    uint32_t h = mix(key_hash(q, len, name_end) ^ verdict_hash(v, ttl));
    size_t i = pick_slot(d, h, q, len, qend, name_end, v, ttl);
    if (i == SIZE_MAX)
        return;
    size_t alen = strlen(v->addr);
    size_t size = sizeof(struct ash_dns_kept) + (len - 2) + ans_len - (qend - LDNS_HEADER_SIZE) + alen;
    size_t old = d->cache[i] ? kept_size(d->cache[i]) : 0;
    if (d->cache_bytes - old + size > CACHE_MAX_BYTES)
        return;
    struct ash_dns_kept *s = malloc(size);
    if (!s)
        return;
    for (size_t k = 2; k < len; k++)
        s->buf[k - 2] = k < name_end ? lower(q[k]) : q[k];
    s->klen = (uint16_t)(len - 2);
    s->len = (uint16_t)ans_len;
    s->qend = (uint16_t)qend;
    memcpy(s->buf + s->klen, ans, LDNS_HEADER_SIZE);
    memcpy(s->buf + s->klen + LDNS_HEADER_SIZE, ans + qend, ans_len - qend);
    memcpy(s->buf + s->klen + kept_len(s), v->addr, alen);
    s->alen = (uint8_t)alen;
    s->answer = v->answer;
    s->ttl = ttl;
    s->hash = h;
    s->gen = d->cache_gen;
    /* Replaced in place, never emptied: the probe chains through it stay whole. */
    if (d->cache[i])
        free(d->cache[i]);
    else
        d->cache_used++;
    d->cache[i] = s;
    d->cache_bytes += size - old;
}

void ash_dns_cache_free(struct ash_dns *d)
{
    for (size_t i = 0; d->cache && i < d->cache_slots; i++)
        free(d->cache[i]);
    free(d->cache);
    d->cache = NULL;
    d->cache_slots = d->cache_used = d->cache_bytes = 0;
}
