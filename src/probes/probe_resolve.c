/* Names resolved as a probe's origin resolves them, never blocking the loop (probe_resolve.h). */
#include "probes/probe_resolve.h"
#include "dns/dns.h"
#include "env/sandbox.h"
#include "probes/probe_from.h"
#include "probes/probe_socket.h"
#include "sys/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* A query's wire form, and the first address of an answer's (or why there is none). */
static int query_wire(const char *name, uint8_t **wire, size_t *wire_len, char *why, size_t len)
{
    ldns_pkt *q = NULL;
    int ret = 0;
    if (ldns_pkt_query_new_frm_str(&q, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD) == LDNS_STATUS_OK)
        ldns_pkt_set_random_id(q); /* a late answer to an earlier sample's query is told apart */
    if (!q || ldns_pkt2wire(wire, q, wire_len) != LDNS_STATUS_OK) {
        snprintf(why, len, "resolve '%s': not a valid name", name);
        ret = -1;
    }
    ldns_pkt_free(q);
    return ret;
}

static int answer_addr(const char *name, const uint8_t *out, size_t out_len, char *addr, size_t addr_len, char *why,
                       size_t len)
{
    ldns_pkt *a = NULL;
    int ret = -1;
    if (ldns_wire2pkt(&a, out, out_len) != LDNS_STATUS_OK) {
        snprintf(why, len, "resolve '%s': malformed answer", name);
        goto out;
    }
    if (ldns_pkt_get_rcode(a) != LDNS_RCODE_NOERROR) {
        ldns_lookup_table *rc = ldns_lookup_by_id(ldns_rcodes, (int)ldns_pkt_get_rcode(a));
        snprintf(why, len, "resolve '%s': %s", name, rc ? rc->name : "error");
        goto out;
    }
    ldns_rr_list *as = ldns_pkt_rr_list_by_type(a, LDNS_RR_TYPE_A, LDNS_SECTION_ANSWER);
    if (!as || ldns_rr_list_rr_count(as) == 0) {
        snprintf(why, len, "resolve '%s': no address", name);
        ldns_rr_list_deep_free(as);
        goto out;
    }
    char *txt = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(as, 0), 0));
    ldns_rr_list_deep_free(as);
    if (!txt) {
        snprintf(why, len, "resolve '%s': out of memory", name);
        goto out;
    }
    snprintf(addr, addr_len, "%s", txt);
    free(txt);
    ret = 0;
out:
    ldns_pkt_free(a);
    return ret;
}

/* `name` in a hosts file (the container's /etc/hosts: Docker writes its own name there). */
static bool hosts_lookup(const char *path, const char *name, char *addr, size_t addr_len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *save = NULL, *a = strtok_r(line, " \t\n", &save);
        if (!a || a[0] == '#' || strchr(a, ':'))
            continue;
        for (char *n = strtok_r(NULL, " \t\n", &save); n && n[0] != '#'; n = strtok_r(NULL, " \t\n", &save))
            if (strcasecmp(n, name) == 0) {
                snprintf(addr, addr_len, "%s", a);
                found = true;
                break;
            }
    }
    fclose(f);
    return found;
}

/* A getaddrinfo of the harness's, run by glibc's own threads (getaddrinfo_a): the
 * harness's resolver can hang as well (a nameserver gone), and the loop must not wait
 * on it. Shared by the loop and the thread glibc reports its end on, which writes a
 * byte to the pipe; freed by whichever lets go last. */
struct gai_req {
    struct gaicb cb;
    struct addrinfo hints;
    char name[256], port[32];
    int pipe[2];
    atomic_int refs;
};

static void gai_unref(struct gai_req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    if (r->cb.ar_result)
        freeaddrinfo(r->cb.ar_result);
    close(r->pipe[0]);
    close(r->pipe[1]);
    free(r);
}

/* On glibc's thread: touches nothing but the request. */
static void gai_notify(union sigval v)
{
    struct gai_req *r = v.sival_ptr;
    char c = 1;
    if (write(r->pipe[1], &c, 1) < 0) {
        /* the pipe is the loop's only news of it; non-blocking, one byte: cannot be full */
    }
    gai_unref(r);
}

/* A name's resolution in flight: a query to a container's nameserver (its socket read
 * by the loop), or the harness's getaddrinfo (gai: its pipe read by the loop). */
struct ash_probe_lookup {
    ash_loop *loop;
    int fd;
    struct gai_req *gai;
    ash_timer *timer;
    uint16_t id;
    char name[256], port[32], ns[64], who[128];
    int socktype;
    int64_t sent;
    ash_probe_resolved_fn cb;
    void *arg;
};

void ash_probe_lookup_cancel(struct ash_probe_lookup *lk)
{
    if (!lk)
        return;
    if (lk->timer)
        ash_loop_cancel_timer(lk->loop, lk->timer);
    if (lk->fd >= 0)
        ash_loop_del_fd(lk->loop, lk->fd);
    if (lk->gai) {
        /* Still queued: glibc drops it and never reports it, so its reference is ours
         * to let go. Running or done: its report comes and lets go of it. */
        if (gai_cancel(&lk->gai->cb) == EAI_CANCELED)
            gai_unref(lk->gai);
        gai_unref(lk->gai);
    } else if (lk->fd >= 0) {
        close(lk->fd);
    }
    free(lk);
}

/* A numeric address (what every origin's answer comes down to) as an addrinfo. */
static int numeric(const char *name, const char *addr, const char *port, int socktype, struct addrinfo **out, char *why,
                   size_t len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype, .ai_flags = AI_NUMERICHOST};
    int rc = getaddrinfo(addr, port, &hints, out);
    if (rc != 0) {
        *out = NULL;
        snprintf(why, len, "resolve '%s': %s", name, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    return 0;
}

/* Free first, report last: the callback may cancel or start other lookups, or close the probe. */
static void lookup_finish(struct ash_probe_lookup *lk, struct addrinfo *ai, const char *why)
{
    ash_probe_resolved_fn cb = lk->cb;
    void *arg = lk->arg;
    char msg[300];
    snprintf(msg, sizeof msg, "%s", why ? why : "");
    lk->cb = NULL;
    ash_probe_lookup_cancel(lk);
    cb(arg, ai, ai ? NULL : msg);
}

static void on_answer(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_probe_lookup *lk = data;
    uint8_t buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    char why[300], addr[INET6_ADDRSTRLEN];
    struct addrinfo *ai = NULL;
    if (n < 0) {
        /* ICMP unreachable on the connected socket: the nameserver said no at once. */
        snprintf(why, sizeof why, "resolve '%s' from %s: %s: %s", lk->name, lk->who, lk->ns, strerror(errno));
        lookup_finish(lk, NULL, why);
        return;
    }
    if (n < 12 || (uint16_t)(buf[0] << 8 | buf[1]) != lk->id)
        return; /* not the answer to this query: keep waiting */
    if (answer_addr(lk->name, buf, (size_t)n, addr, sizeof addr, why, sizeof why) == 0)
        numeric(lk->name, addr, lk->port, lk->socktype, &ai, why, sizeof why);
    lookup_finish(lk, ai, why);
}

static void on_gai_done(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_probe_lookup *lk = data;
    char c, why[300] = "";
    if (read(fd, &c, 1) != 1)
        return;
    struct gai_req *r = lk->gai;
    int rc = gai_error(&r->cb);
    struct addrinfo *ai = NULL;
    if (rc == 0) {
        ai = r->cb.ar_result; /* ours now: gai_unref frees only what is left */
        r->cb.ar_result = NULL;
    } else {
        snprintf(why, sizeof why, "resolve '%s': %s", lk->name, gai_strerror(rc));
    }
    lookup_finish(lk, ai, why);
}

static int64_t on_deadline(ash_loop *loop, int64_t now, void *data)
{
    struct ash_probe_lookup *lk = data;
    lk->timer = NULL; /* freed by the loop when we return */
    char why[300];
    if (lk->gai)
        snprintf(why, sizeof why, "resolve '%s': no answer from the harness's resolver within %.0f ms", lk->name,
                 ash_ns_to_ms(now - lk->sent));
    else
        snprintf(why, sizeof why, "resolve '%s' from %s: no answer from %s within %.0f ms", lk->name, lk->who, lk->ns,
                 ash_ns_to_ms(now - lk->sent));
    lookup_finish(lk, NULL, why);
    return ASH_TIMER_DONE;
}

/* The first IPv4 nameserver of the container's resolv.conf. */
static int container_nameserver(const char *etc, struct sockaddr_in *sa, char *ns, size_t ns_len)
{
    char path[128], line[256];
    snprintf(path, sizeof path, "%s/resolv.conf", etc);
    ns[0] = '\0';
    FILE *f = fopen(path, "re");
    while (f && !ns[0] && fgets(line, sizeof line, f)) {
        char a[64];
        if (sscanf(line, " nameserver %63s", a) == 1 && strchr(a, '.'))
            snprintf(ns, ns_len, "%s", a);
    }
    if (f)
        fclose(f);
    *sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(53)};
    return ns[0] && inet_pton(AF_INET, ns, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Send the query over the wire from inside the container's namespace and leave its
 * answer to the loop. The socket is non-blocking: a nameserver that never answers costs
 * the sample its deadline, and the loop nothing. */
static int ask_over_wire(ash_loop *loop, const struct ash_probe_query *q, const uint8_t *wire, size_t wire_len,
                         uint32_t mark, int64_t deadline, ash_probe_resolved_fn cb, void *arg,
                         struct ash_probe_lookup **pending, char *why, size_t len)
{
    const struct ash_probe_from *from = q->from;
    char etc[64];
    struct sockaddr_in sa;
    struct ash_probe_lookup *lk = calloc(1, sizeof *lk);
    if (!lk) {
        snprintf(why, len, "resolve '%s': out of memory", q->name);
        return -1;
    }
    *lk = (struct ash_probe_lookup){.loop = loop, .fd = -1, .socktype = q->socktype, .cb = cb, .arg = arg};
    snprintf(lk->name, sizeof lk->name, "%s", q->name);
    snprintf(lk->port, sizeof lk->port, "%s", q->port);
    snprintf(lk->who, sizeof lk->who, "%s", from->t.name);
    lk->id = (uint16_t)(wire[0] << 8 | wire[1]);
    ash_probe_from_etc(from, etc, sizeof etc);
    if (container_nameserver(etc, &sa, lk->ns, sizeof lk->ns) < 0) {
        snprintf(why, len, "resolve '%s' from %s: no IPv4 nameserver in %s/resolv.conf", q->name, lk->who, etc);
        goto fail;
    }
    lk->fd = ash_probe_socket(from, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (lk->fd < 0) {
        snprintf(why, len, "resolve '%s' from %s: socket: %s", q->name, lk->who, strerror(errno));
        goto fail;
    }
    if (mark)
        setsockopt(lk->fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
    lk->sent = ash_now_ns();
    if (connect(lk->fd, (struct sockaddr *)&sa, sizeof sa) < 0 || send(lk->fd, wire, wire_len, MSG_DONTWAIT) < 0) {
        snprintf(why, len, "resolve '%s' from %s: %s: %s", q->name, lk->who, lk->ns, strerror(errno));
        goto fail;
    }
    ash_error_t e = {0};
    if (ash_loop_add_fd(loop, lk->fd, EPOLLIN, on_answer, lk, &e) < 0 ||
        !(lk->timer = ash_loop_add_timer(loop, deadline, on_deadline, lk))) {
        snprintf(why, len, "resolve '%s' from %s: %s", q->name, lk->who, e.msg[0] ? e.msg : "out of memory");
        goto fail;
    }
    *pending = lk;
    return 1;
fail:
    ash_probe_lookup_cancel(lk);
    return -1;
}

/* As a container resolves: its hosts file, then a dns fault on it (answered from this
 * process's own loop, in-process, as ask_dns does for sandbox hosts), then its
 * nameserver over the wire (ask_over_wire). */
static int ask_container(ash_loop *loop, const struct ash_probe_query *q, int64_t deadline, ash_probe_resolved_fn cb,
                         void *arg, struct ash_probe_lookup **pending, char *addr, size_t addr_len, char *why,
                         size_t len)
{
    const struct ash_probe_from *from = q->from;
    char etc[64], path[96];
    ash_probe_from_etc(from, etc, sizeof etc);
    snprintf(path, sizeof path, "%s/hosts", etc);
    if (hosts_lookup(path, q->name, addr, addr_len))
        return 0;
    uint8_t *wire = NULL, *out = NULL;
    size_t wire_len = 0, out_len = 0;
    if (query_wire(q->name, &wire, &wire_len, why, len) < 0)
        return -1;
    int ret = -1;
    struct stat sb;
    struct ash_dns *served = fstat(from->nsfd, &sb) == 0 ? ash_dns_of_netns((unsigned long long)sb.st_ino) : NULL;
    uint32_t mark = 0;
    if (served) {
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int64_t delay = 0;
        int r = ash_dns_respond(served, wire, wire_len, (const struct sockaddr *)&src, false, &out, &out_len, &delay);
        if (r != 2) { /* 2: a name it forwards, asked over the wire past it */
            if (r == 1)
                ret = answer_addr(q->name, out, out_len, addr, addr_len, why, len);
            else
                snprintf(why, len, r < 0 ? "resolve '%s': out of memory" : "resolve '%s': timeout (no answer)",
                         q->name);
            goto out;
        }
        mark = ash_dns_forward_mark(served);
    }
    ret = ask_over_wire(loop, q, wire, wire_len, mark, deadline, cb, arg, pending, why, len);
out:
    free(out);
    free(wire);
    return ret;
}

/* Ask the run's DNS server, in-process, as host `from` would over the wire:
 * the query carries the host's address as its source, so fault rules for
 * chosen clients apply. A rule's delay is not waited for here (the dns probe
 * measures delays); a timeout rule means no answer. */
static int ask_dns(struct ash_dns *dns, const struct ash_host *from, const char *name, char *addr, size_t addr_len,
                   char *why, size_t len)
{
    uint8_t *wire = NULL, *out = NULL;
    size_t wire_len = 0, out_len = 0;
    int ret = -1;
    if (query_wire(name, &wire, &wire_len, why, len) < 0)
        return -1;
    struct sockaddr_in src = {.sin_family = AF_INET};
    inet_pton(AF_INET, ash_host_address(from), &src.sin_addr);
    int64_t delay = 0;
    int r = ash_dns_respond(dns, wire, wire_len, (const struct sockaddr *)&src, false, &out, &out_len, &delay);
    if (r <= 0 || r == 2) /* 2: forward (only a container redirect's server forwards) */
        snprintf(why, len, r < 0 ? "resolve '%s': out of memory" : "resolve '%s': timeout (no answer)", name);
    else
        ret = answer_addr(name, out, out_len, addr, addr_len, why, len);
    free(wire);
    free(out);
    return ret;
}

/* The harness's resolver, as every program here resolves: a literal address at once,
 * else getaddrinfo on glibc's threads, its end read by the loop (a pipe). */
static int ask_harness(ash_loop *loop, const struct ash_probe_query *q, int64_t deadline, ash_probe_resolved_fn cb,
                       void *arg, struct ash_probe_lookup **pending, struct addrinfo **out, char *why, size_t len)
{
    struct in6_addr any;
    if (inet_pton(AF_INET, q->name, &any) == 1 || inet_pton(AF_INET6, q->name, &any) == 1)
        return numeric(q->name, q->name, q->port, q->socktype, out, why, len);
    struct ash_probe_lookup *lk = calloc(1, sizeof *lk);
    struct gai_req *r = calloc(1, sizeof *r);
    if (!lk || !r || pipe2(r->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(why, len, "resolve '%s': %s", q->name, strerror(lk && r ? errno : ENOMEM));
        free(lk);
        free(r);
        return -1;
    }
    *lk = (struct ash_probe_lookup){.loop = loop, .fd = r->pipe[0], .socktype = q->socktype, .cb = cb, .arg = arg};
    snprintf(lk->name, sizeof lk->name, "%s", q->name);
    snprintf(r->name, sizeof r->name, "%s", q->name);
    snprintf(r->port, sizeof r->port, "%s", q->port);
    r->hints = (struct addrinfo){.ai_family = AF_UNSPEC, .ai_socktype = q->socktype};
    r->cb = (struct gaicb){.ar_name = r->name, .ar_service = r->port, .ar_request = &r->hints};
    atomic_init(&r->refs, 2); /* the loop's (lk) and glibc's report's */
    struct sigevent sev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = gai_notify};
    sev.sigev_value.sival_ptr = r;
    struct gaicb *list[] = {&r->cb};
    ash_error_t e = {0};
    lk->sent = ash_now_ns();
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
    if (rc != 0) {
        snprintf(why, len, "resolve '%s': %s", q->name, gai_strerror(rc));
        atomic_store(&r->refs, 1); /* never queued: nothing will report it */
        gai_unref(r);
        free(lk);
        return -1;
    }
    lk->gai = r;
    if (ash_loop_add_fd(loop, lk->fd, EPOLLIN, on_gai_done, lk, &e) < 0 ||
        !(lk->timer = ash_loop_add_timer(loop, deadline, on_deadline, lk))) {
        snprintf(why, len, "resolve '%s': %s", q->name, e.msg[0] ? e.msg : "out of memory");
        ash_probe_lookup_cancel(lk);
        return -1;
    }
    *pending = lk;
    return 1;
}

int ash_probe_resolve(ash_loop *loop, const struct ash_probe_query *q, int64_t deadline, ash_probe_resolved_fn cb,
                      void *arg, struct ash_probe_lookup **pending, struct addrinfo **out, char *why, size_t len)
{
    const struct ash_probe_from *from = q->from;
    const char *node = q->name;
    char addr[INET6_ADDRSTRLEN];
    struct in6_addr any;
    *out = NULL;
    *pending = NULL;
    if (!from)
        return ask_harness(loop, q, deadline, cb, arg, pending, out, why, len);
    if (inet_pton(AF_INET, q->name, &any) == 1 || inet_pton(AF_INET6, q->name, &any) == 1) {
        /* a literal address passes through */
    } else if (!from->host) {
        if (strcmp(q->name, "localhost") == 0) {
            node = "127.0.0.1";
        } else {
            int r = ask_container(loop, q, deadline, cb, arg, pending, addr, sizeof addr, why, len);
            if (r != 0)
                return r;
            node = addr;
        }
    } else {
        const struct ash_host *h = from->host;
        /* localhost and the host's own name come from its /etc/hosts; other names from
         * the run's DNS server when there is one, else from the sandbox's table (what
         * /etc/hosts then lists). Nothing falls back to the harness's resolver: that
         * would hide a name the host cannot resolve. */
        bool local = strcmp(q->name, "localhost") == 0 || strcmp(q->name, ash_host_name(h)) == 0;
        if (q->dns && !local) {
            if (ask_dns(q->dns, h, q->name, addr, sizeof addr, why, len) < 0)
                return -1;
            node = addr;
        } else if (!(node = ash_host_lookup(h, q->name))) {
            snprintf(why, len, "resolve '%s' from host %s: no such host", q->name, ash_host_name(h));
            return -1;
        }
    }
    return numeric(q->name, node, q->port, q->socktype, out, why, len);
}
