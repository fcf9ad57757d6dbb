/* Readiness answered by the service itself: for a tcp/http check on a local
 * address, the listening socket (sock_diag) must be held by the service's
 * process or a descendant (/proc/PID/fd). Two runs of a scenario with a fixed
 * port showed why: the second run's check passed against the first run's
 * listener while its own service had exited with "address in use". */
#include "engine/ready_owner.h"
#include "env/env.h"
#include "env/sandbox.h"
#include "sys/procsock.h"
#include "sys/sockdiag.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_endpoint(const struct ash_ready_spec *r, const char *s, char *host, size_t hlen, unsigned *port);

bool ash_ready_endpoint(const struct ash_ready_spec *r, char *host, size_t hlen, unsigned *port)
{
    const char *raw = r->tcp ? r->tcp : r->http;
    if (!raw)
        return false;
    /* As the check itself connects: with the run's placeholders ({webhook_port})
     * substituted. Unparsed, "127.0.0.1:{webhook_port}" had no port, so the
     * check counted aftershock's own receiver as the service being ready. */
    char *s = ash_env_substitute(raw, NULL, NULL);
    bool ok = s && parse_endpoint(r, s, host, hlen, port);
    free(s);
    return ok;
}

static bool parse_endpoint(const struct ash_ready_spec *r, const char *s, char *host, size_t hlen, unsigned *port)
{
    unsigned def = 0;
    if (r->http) {
        const char *sep = strstr(s, "://");
        if (!sep)
            return false;
        def = strncmp(s, "https", 5) == 0 ? 443 : 80;
        s = sep + 3;
    }
    size_t hostlen = strcspn(s, "/?#");
    char auth[300];
    if (hostlen >= sizeof auth)
        return false;
    memcpy(auth, s, hostlen);
    auth[hostlen] = '\0';
    char *at = strrchr(auth, '@'); /* user:pass@ in a URL */
    char *h = at ? at + 1 : auth;
    char *colon = NULL;
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (!close)
            return false;
        *close = '\0';
        h++;
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(h, ':');
        if (colon)
            *colon = '\0';
    }
    *port = def;
    if (colon) {
        char *end;
        unsigned long p = strtoul(colon + 1, &end, 10);
        if (*end || p == 0 || p > 65535)
            return false;
        *port = (unsigned)p;
    }
    snprintf(host, hlen, "%s", h);
    return *port != 0;
}

/* The endpoint's address, when it is one this machine (or the sandbox host)
 * answers for itself: loopback, "localhost", a local interface's address. */
static bool local_address(struct ash_ctx *ctx, const struct ash_service_spec *svc, const char *host, int *family,
                          uint8_t addr[16], bool *any_addr)
{
    *any_addr = false;
    if (strcmp(host, "localhost") == 0) {
        *any_addr = true; /* v4 or v6 loopback: any listener on the port may answer */
        return true;
    }
    if (inet_pton(AF_INET, host, addr) == 1)
        *family = AF_INET;
    else if (inet_pton(AF_INET6, host, addr) == 1)
        *family = AF_INET6;
    else
        return false; /* a name: not ours to judge */
    if (*family == AF_INET && addr[0] == 127)
        return true;
    if (*family == AF_INET6 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)addr))
        return true;
    if (svc->host && ctx->sandbox) {
        struct ash_host *h = ash_sandbox_host(ctx->sandbox, svc->host);
        return h && strcmp(ash_host_address(h), host) == 0;
    }
    struct ifaddrs *ifs = NULL, *i;
    bool mine = false;
    if (getifaddrs(&ifs) < 0)
        return false;
    for (i = ifs; i && !mine; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != *family)
            continue;
        const void *a = *family == AF_INET ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                                           : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
        mine = memcmp(a, addr, *family == AF_INET ? 4 : 16) == 0;
    }
    freeifaddrs(ifs);
    return mine;
}

/* Could a connection to (family, addr) have reached listener l? */
static bool reaches(const struct ash_listener *l, int family, const uint8_t addr[16], bool any_addr)
{
    static const uint8_t zero[16];
    if (any_addr)
        return true;
    if (l->family == AF_INET)
        return family == AF_INET && (memcmp(l->addr, addr, 4) == 0 || memcmp(l->addr, zero, 4) == 0);
    if (memcmp(l->addr, zero, 16) == 0)
        return true; /* [::] also takes IPv4 unless IPV6_V6ONLY */
    if (family == AF_INET6)
        return memcmp(l->addr, addr, 16) == 0;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(l->addr, mapped, 12) == 0 && memcmp(l->addr + 12, addr, 4) == 0;
}

bool ash_ready_owner_check(struct ash_ctx *ctx, const struct ash_service_spec *svc, char *why, size_t len)
{
    const struct ash_ready_spec *r = &svc->ready;
    char host[256];
    unsigned port;
    int family = 0;
    uint8_t addr[16] = {0};
    bool any_addr;
    if (!(r->tcp || r->http) || !ash_ready_endpoint(r, host, sizeof host, &port) ||
        !local_address(ctx, svc, host, &family, addr, &any_addr))
        return true;
    struct ash_service *s = ctx->env ? ash_env_service(ctx->env, svc->name) : NULL;
    /* A service that already died (it could not bind the port another holds)
     * still gets the port's holder named: that is what the user must fix. */
    pid_t root = s ? ash_service_pid(s) : -1;
    int nsfd = -1;
    if (svc->host && ctx->sandbox) {
        struct ash_host *h = ash_sandbox_host(ctx->sandbox, svc->host);
        nsfd = h ? ash_host_netns_fd(h) : -1;
    }
    struct ash_listener ls[32];
    size_t n = 0;
    ash_error_t err = {0};
    if (ash_tcp_listeners(nsfd, (uint16_t)port, ls, 32, &n, &err) < 0) {
        snprintf(why, len, "cannot tell who listens on %s:%u: %s", host, port, err.msg);
        return false;
    }
    uint64_t inodes[32];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (reaches(&ls[i], family, addr, any_addr))
            inodes[k++] = ls[i].inode;
    if (k == 0) {
        snprintf(why, len, "%s:%u answered, but nothing listens there now", host, port);
        return false;
    }
    pid_t mine = 0, other = 0;
    ash_socket_holders(root, inodes, k, &mine, &other);
    if (mine)
        return true;
    if (root <= 0 && other) {
        char comm[32];
        ash_proc_comm(other, comm, sizeof comm);
        snprintf(why, len, "%s:%u is answered by pid %d (%s), not by service '%s' (not running)", host, port,
                 (int)other, comm, svc->name);
    } else if (root <= 0) {
        snprintf(why, len, "%s:%u answers, but service '%s' is not running", host, port, svc->name);
    } else if (other) {
        char comm[32];
        ash_proc_comm(other, comm, sizeof comm);
        snprintf(why, len, "%s:%u is answered by pid %d (%s), not by service '%s' (pid %d)", host, port, (int)other,
                 comm, svc->name, (int)root);
    } else {
        snprintf(why, len, "%s:%u is answered by a socket no process of service '%s' (pid %d) holds", host, port,
                 svc->name, (int)root);
    }
    return false;
}
