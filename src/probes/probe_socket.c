/* Probe sockets: created in the harness's network namespace today, in a sandbox host's tomorrow. */
#include "probes/probe_socket.h"

#include <sys/socket.h>

/* `from: HOST` is the next step: a probe that samples from inside a sandbox host
 * needs its socket created in that host's network namespace, so that routes,
 * partitions and link faults apply to it as they do to the host's clients. The
 * plan: call ash_host_run_in_netns(host, make_socket, &args) here (setns into
 * the host's netns, socket(), setns back); the fd keeps its namespace for life,
 * so connect() and libcurl work on it unchanged from the loop thread.
 * Name resolution follows the mount namespace, not the netns (see DESIGN.md):
 * such probes must also resolve through the host's /etc/hosts and resolv.conf. */
int ash_probe_socket(const struct ash_probe_spec *p, int domain, int type, int protocol)
{
    (void)p;
    return socket(domain, type | SOCK_CLOEXEC, protocol);
}

const char *ash_probe_from_unsupported(const struct ash_probe_spec *p)
{
    if (p && p->from)
        return "probes 'from:' a sandbox host are not supported yet; remove 'from:' to probe from the harness";
    return NULL;
}
