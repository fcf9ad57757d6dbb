/* Probe origins: sockets made inside a sandbox host's netns, names resolved as that host does. */
#include "probes/probe_socket.h"
#include "env/sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int ash_probe_origin(struct ash_ctx *ctx, const struct ash_probe_spec *p, struct ash_host **out,
                     ash_error_t *err)
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

int ash_probe_resolve(const struct ash_host *from, const char *name, const char *port, int socktype,
                      struct addrinfo **out, char *why, size_t len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype};
    const char *node = name;
    if (from) {
        /* Literal addresses pass through; names come from the host's table
         * (what its generated /etc/hosts says). Nothing falls back to the
         * harness's resolver: that would hide a name the host cannot resolve. */
        struct in6_addr any;
        if (inet_pton(AF_INET, name, &any) != 1 && inet_pton(AF_INET6, name, &any) != 1) {
            node = ash_host_lookup(from, name);
            if (!node) {
                snprintf(why, len, "resolve '%s' from host %s: no such host", name, ash_host_name(from));
                return -1;
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
