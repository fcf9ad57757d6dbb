/* Probe origins: sockets made inside a sandbox host's netns, names resolved as that host does. */
#include "probes/probe_socket.h"
#include "dns/dns.h"
#include "env/sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int ash_probe_origin(struct ash_ctx *ctx, const struct ash_probe_spec *p, struct ash_host **out, ash_error_t *err)
{
    *out = NULL;
    if (!p->from)
        return 0;
    if (!ctx || !ctx->sandbox)
        return ash_error_class(err, ASH_ERR_USAGE, 0,
                               "probe '%s': 'from: %s' needs sandbox hosts; this run has none (remove 'from:' "
                               "to probe from the harness)",
                               p->name, p->from);
    struct ash_host *h = ash_sandbox_host(ctx->sandbox, p->from);
    if (!h)
        return ash_error_class(err, ASH_ERR_USAGE, 0, "probe '%s': 'from: %s' is not a host of this run", p->name,
                               p->from);
    *out = h;
    return 0;
}

struct socket_args {
    int domain, type, protocol;
};

static int make_socket(void *arg)
{
    struct socket_args *a = arg;
    return socket(a->domain, a->type | SOCK_CLOEXEC, a->protocol);
}

int ash_probe_socket(const struct ash_host *from, int domain, int type, int protocol)
{
    struct socket_args a = {domain, type, protocol};
    if (!from)
        return make_socket(&a);
    return ash_host_run_in_netns(from, make_socket, &a);
}

/* Ask the run's DNS server, in-process, as host `from` would over the wire:
 * the query carries the host's address as its source, so fault rules for
 * chosen clients apply. A rule's delay is not waited for here (the dns probe
 * measures delays); a timeout rule means no answer. */
static int ask_dns(struct ash_dns *dns, const struct ash_host *from, const char *name, char *addr, size_t addr_len,
                   char *why, size_t len)
{
    ldns_pkt *q = NULL, *a = NULL;
    uint8_t *wire = NULL, *out = NULL;
    size_t wire_len = 0, out_len = 0;
    int ret = -1;
    if (ldns_pkt_query_new_frm_str(&q, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK ||
        ldns_pkt2wire(&wire, q, &wire_len) != LDNS_STATUS_OK) {
        snprintf(why, len, "resolve '%s': not a valid name", name);
        goto out;
    }
    struct sockaddr_in src = {.sin_family = AF_INET};
    inet_pton(AF_INET, ash_host_address(from), &src.sin_addr);
    int64_t delay = 0;
    int r = ash_dns_respond(dns, wire, wire_len, (const struct sockaddr *)&src, false, &out, &out_len, &delay);
    if (r <= 0) {
        snprintf(why, len, r < 0 ? "resolve '%s': out of memory" : "resolve '%s': timeout (no answer)", name);
        goto out;
    }
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
    ldns_pkt_free(q);
    ldns_pkt_free(a);
    free(wire);
    free(out);
    return ret;
}

int ash_probe_resolve(const struct ash_host *from, struct ash_dns *dns, const char *name, const char *port,
                      int socktype, struct addrinfo **out, char *why, size_t len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype};
    const char *node = name;
    char addr[INET6_ADDRSTRLEN];
    if (from) {
        /* Literal addresses pass through; localhost and the host's own name
         * come from its /etc/hosts; other names from the run's DNS server
         * when there is one, else from the sandbox's table (what /etc/hosts
         * then lists). Nothing falls back to the harness's resolver: that
         * would hide a name the host cannot resolve. */
        struct in6_addr any;
        if (inet_pton(AF_INET, name, &any) != 1 && inet_pton(AF_INET6, name, &any) != 1) {
            bool local = strcmp(name, "localhost") == 0 || strcmp(name, ash_host_name(from)) == 0;
            if (dns && !local) {
                if (ask_dns(dns, from, name, addr, sizeof addr, why, len) < 0)
                    return -1;
                node = addr;
            } else {
                node = ash_host_lookup(from, name);
                if (!node) {
                    snprintf(why, len, "resolve '%s' from host %s: no such host", name, ash_host_name(from));
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

int ash_probe_enter_host(void *host)
{
    return ash_host_enter(host);
}
