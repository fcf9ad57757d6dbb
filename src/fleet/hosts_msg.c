/* The "hosts" message (hosts_msg.h): addresses as dotted quads, checked on the way in. */
#include "fleet/hosts_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

static json_t *quad(uint32_t a)
{
    char buf[INET_ADDRSTRLEN];
    return json_string(inet_ntop(AF_INET, &a, buf, sizeof buf) ? buf : "");
}

json_t *ash_hosts_msg(const struct ash_hosts_msg *m)
{
    json_t *peers = json_array();
    for (size_t i = 0; peers && i < m->n_peers; i++)
        json_array_append_new(peers, quad(m->peers[i]));
    return peers ? json_pack("{s:o, s:I, s:o}", "subnet", quad(m->subnet), "vni", (json_int_t)m->vni, "peers", peers)
                 : NULL;
}

static int parse_quad(const json_t *v, uint32_t *out)
{
    const char *s = json_string_value(v);
    return s && inet_pton(AF_INET, s, out) == 1 ? 0 : -1;
}

int ash_hosts_msg_parse(const json_t *msg, struct ash_hosts_msg *out, ash_error_t *err)
{
    *out = (struct ash_hosts_msg){0};
    json_t *vni = json_object_get(msg, "vni"), *peers = json_object_get(msg, "peers");
    if (parse_quad(json_object_get(msg, "subnet"), &out->subnet) < 0 || (ntohl(out->subnet) & 0xffu) != 0)
        return ash_error(err, EINVAL, "a hosts message without its /24 ('subnet': A.B.C.0)");
    if (!json_is_integer(vni) || json_integer_value(vni) < 1 || json_integer_value(vni) > 0xffffff)
        return ash_error(err, EINVAL, "a hosts message's 'vni' is 1 to 16777215");
    out->vni = (uint32_t)json_integer_value(vni);
    if (!json_is_array(peers) || json_array_size(peers) > ASH_HOSTS_MSG_PEERS)
        return ash_error(err, EINVAL, "a hosts message's 'peers' is a list of at most %d IPv4 addresses",
                         ASH_HOSTS_MSG_PEERS);
    size_t i;
    json_t *p;
    json_array_foreach(peers, i, p)
    {
        if (parse_quad(p, &out->peers[i]) < 0)
            return ash_error(err, EINVAL, "a hosts message's peer %zu is not an IPv4 address", i);
    }
    out->n_peers = json_array_size(peers);
    return 0;
}

/* Not the coordinator's id: nodes of one run may share a machine's names
 * (a test's nodes are namespaces of one machine: one cgroup tree, one /run/netns). */
void ash_hosts_sandbox_id(const char *run_id, const char *node, char *buf, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *s = run_id; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (const char *s = node; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    snprintf(buf, len, "n%010" PRIx64, (uint64_t)(h & 0xffffffffffu));
}
