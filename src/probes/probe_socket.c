/* Probe origins: sockets made inside a sandbox host's or a container's netns, names resolved as
 * that host or container does. */
#include "probes/probe_socket.h"
#include "dns/dns.h"
#include "env/sandbox.h"
#include "env/target.h"
#include "sys/clock.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct ash_probe_from {
    struct ash_host *host; /* a sandbox host, or NULL */
    struct ash_target t;   /* else a container (or a process) with its own network namespace */
    int nsfd;
    int pid; /* its init: /proc/PID/root/etc is the resolv.conf and hosts it reads */
};

static int container_origin(struct ash_ctx *ctx, const struct ash_probe_spec *p, struct ash_probe_from *f,
                            ash_error_t *err)
{
    char msg[300];
    struct ash_target_ref ref = {0};
    if (ash_target_ref_parse(p->from, &ref, msg, sizeof msg) < 0)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "probe '%s': from: %s", p->name, msg);
    if (ctx && ctx->scenario && ctx->scenario->runtime.docker_host)
        ref.endpoint = strdup(ctx->scenario->runtime.docker_host);
    int r = ash_ctx_target(ctx, &ref, &f->t, err);
    ash_target_ref_clear(&ref);
    if (r < 0)
        return ash_error_wrap(err, "probe '%s'", p->name);
    f->nsfd = ash_target_netns_fd(&f->t);
    json_t *id = ash_target_identity(&f->t);
    f->pid = (int)json_integer_value(json_object_get(id, "pid"));
    json_decref(id);
    if (f->nsfd < 0 || f->pid <= 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP,
                               "probe '%s': from: %s has no network namespace of its own (it shares the "
                               "machine's: leave 'from' out)",
                               p->name, p->from);
    return 0;
}

int ash_probe_origin(struct ash_ctx *ctx, const struct ash_probe_spec *p, struct ash_probe_from **out, ash_error_t *err)
{
    *out = NULL;
    if (!p->from)
        return 0;
    struct ash_probe_from *f = calloc(1, sizeof *f);
    if (!f)
        return ash_error(err, ENOMEM, "probe '%s'", p->name);
    f->nsfd = -1;
    if (ash_probe_from_is_target(p->from)) {
        if (container_origin(ctx, p, f, err) < 0) {
            ash_probe_from_free(f);
            return -1;
        }
        *out = f;
        return 0;
    }
    if (!ctx || !ctx->sandbox) {
        free(f);
        return ash_error_class(err, ASH_ERR_USAGE, 0,
                               "probe '%s': 'from: %s' needs sandbox hosts; this run has none (remove 'from:' "
                               "to probe from the harness)",
                               p->name, p->from);
    }
    struct ash_host *h = ash_sandbox_host(ctx->sandbox, p->from);
    if (!h) {
        free(f);
        return ash_error_class(err, ASH_ERR_USAGE, 0, "probe '%s': 'from: %s' is not a host of this run", p->name,
                               p->from);
    }
    f->host = h;
    *out = f;
    return 0;
}

void ash_probe_from_free(struct ash_probe_from *from)
{
    if (!from)
        return;
    ash_target_release(&from->t);
    free(from);
}

const char *ash_probe_from_etc(const struct ash_probe_from *from, char *buf, size_t len)
{
    if (!from)
        snprintf(buf, len, "/etc");
    else if (from->host)
        snprintf(buf, len, "%s", ash_host_etc_dir(from->host));
    else
        snprintf(buf, len, "/proc/%d/root/etc", from->pid);
    return buf;
}

struct socket_args {
    int domain, type, protocol;
};

static int make_socket(void *arg)
{
    struct socket_args *a = arg;
    return socket(a->domain, a->type | SOCK_CLOEXEC, a->protocol);
}

int ash_probe_socket(const struct ash_probe_from *from, int domain, int type, int protocol)
{
    struct socket_args a = {domain, type, protocol};
    if (!from)
        return make_socket(&a);
    if (from->host)
        return ash_host_run_in_netns(from->host, make_socket, &a);
    return ash_target_run_in_netns(&from->t, make_socket, &a, NULL);
}

/* Ask the run's DNS server, in-process, as host `from` would over the wire:
 * the query carries the host's address as its source, so fault rules for
 * chosen clients apply. A rule's delay is not waited for here (the dns probe
 * measures delays); a timeout rule means no answer. */
/* A query's wire form, and the first address of an answer's (or why there is none). */
static int query_wire(const char *name, uint8_t **wire, size_t *wire_len, char *why, size_t len)
{
    ldns_pkt *q = NULL;
    int ret = 0;
    if (ldns_pkt_query_new_frm_str(&q, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK ||
        ldns_pkt2wire(wire, q, wire_len) != LDNS_STATUS_OK) {
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

/* As a container resolves: its hosts file, then its first nameserver asked over UDP
 * from inside its namespace (so a redirect of its DNS, a dns fault on it, answers). */
static int ask_container(const struct ash_probe_from *from, const char *name, char *addr, size_t addr_len, char *why,
                         size_t len)
{
    char etc[64], path[96], line[256], ns[64] = "";
    ash_probe_from_etc(from, etc, sizeof etc);
    snprintf(path, sizeof path, "%s/hosts", etc);
    if (hosts_lookup(path, name, addr, addr_len))
        return 0;
    snprintf(path, sizeof path, "%s/resolv.conf", etc);
    FILE *f = fopen(path, "re");
    while (f && !ns[0] && fgets(line, sizeof line, f))
        if (sscanf(line, " nameserver %63s", ns) != 1 || !strchr(ns, '.'))
            ns[0] = '\0';
    if (f)
        fclose(f);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
    if (!ns[0] || inet_pton(AF_INET, ns, &sa.sin_addr) != 1) {
        snprintf(why, len, "resolve '%s' from %s: no IPv4 nameserver in %s", name, from->t.name, path);
        return -1;
    }
    uint8_t *wire = NULL, buf[4096], *out = NULL;
    size_t wire_len = 0, out_len = 0;
    if (query_wire(name, &wire, &wire_len, why, len) < 0)
        return -1;
    int ret = -1;
    /* A dns fault on this container answers from this process's own loop: asked here
     * (as ask_dns does for sandbox hosts), its forwarded names over the wire past it. */
    struct stat sb;
    struct ash_dns *served = fstat(from->nsfd, &sb) == 0 ? ash_dns_of_netns((unsigned long long)sb.st_ino) : NULL;
    uint32_t mark = 0;
    if (served) {
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int64_t delay = 0;
        int r = ash_dns_respond(served, wire, wire_len, (const struct sockaddr *)&src, false, &out, &out_len, &delay);
        if (r == 1 || r == 0 || r < 0) {
            if (r == 1)
                ret = answer_addr(name, out, out_len, addr, addr_len, why, len);
            else
                snprintf(why, len, r < 0 ? "resolve '%s': out of memory" : "resolve '%s': timeout (no answer)", name);
            free(out);
            free(wire);
            return ret;
        }
        free(out);
        mark = ash_dns_forward_mark(served);
    }
    int fd = ash_probe_socket(from, AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        snprintf(why, len, "resolve '%s' from %s: socket: %s", name, from->t.name, strerror(errno));
        goto out;
    }
    if (mark)
        setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
    uint16_t qid = (uint16_t)(wire[0] << 8 | wire[1]);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || send(fd, wire, wire_len, 0) < 0) {
        snprintf(why, len, "resolve '%s' from %s: %s: %s", name, from->t.name, ns, strerror(errno));
        goto out;
    }
    int64_t deadline = ash_now_ns() + ASH_NS_PER_S;
    for (;;) {
        int64_t left = deadline - ash_now_ns();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)(left / ASH_NS_PER_MS) + 1) <= 0) {
            snprintf(why, len, "resolve '%s' from %s: no answer from %s within 1 s", name, from->t.name, ns);
            goto out;
        }
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n >= 12 && (uint16_t)(buf[0] << 8 | buf[1]) == qid) {
            ret = answer_addr(name, buf, (size_t)n, addr, addr_len, why, len);
            goto out;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    free(wire);
    return ret;
}

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

int ash_probe_resolve(const struct ash_probe_from *from, struct ash_dns *dns, const char *name, const char *port,
                      int socktype, struct addrinfo **out, char *why, size_t len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype};
    const char *node = name;
    char addr[INET6_ADDRSTRLEN];
    if (from && !from->host) {
        struct in6_addr any;
        if (inet_pton(AF_INET, name, &any) != 1 && inet_pton(AF_INET6, name, &any) != 1) {
            if (strcmp(name, "localhost") == 0)
                node = "127.0.0.1";
            else if (ask_container(from, name, addr, sizeof addr, why, len) < 0)
                return -1;
            else
                node = addr;
        }
        hints.ai_flags = AI_NUMERICHOST;
    } else if (from) {
        const struct ash_host *h = from->host;
        /* Literal addresses pass through; localhost and the host's own name
         * come from its /etc/hosts; other names from the run's DNS server
         * when there is one, else from the sandbox's table (what /etc/hosts
         * then lists). Nothing falls back to the harness's resolver: that
         * would hide a name the host cannot resolve. */
        struct in6_addr any;
        if (inet_pton(AF_INET, name, &any) != 1 && inet_pton(AF_INET6, name, &any) != 1) {
            bool local = strcmp(name, "localhost") == 0 || strcmp(name, ash_host_name(h)) == 0;
            if (dns && !local) {
                if (ask_dns(dns, h, name, addr, sizeof addr, why, len) < 0)
                    return -1;
                node = addr;
            } else {
                node = ash_host_lookup(h, name);
                if (!node) {
                    snprintf(why, len, "resolve '%s' from host %s: no such host", name, ash_host_name(h));
                    return -1;
                }
            }
        }
        hints.ai_flags = AI_NUMERICHOST;
    }
    int rc = getaddrinfo(node, port, &hints, out);
    if (rc != 0) {
        *out = NULL;
        snprintf(why, len, "resolve '%s': %s", name, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    return 0;
}

int ash_probe_enter_host(void *arg)
{
    const struct ash_probe_from *from = arg;
    if (from->host)
        return ash_host_enter(from->host);
    return setns(from->nsfd, CLONE_NEWNET);
}
