/* The fleet overlay (sandbox_overlay.h): one VXLAN per machine on its sandbox bridge, in the sandbox's hub. */
#include "env/sandbox_overlay.h"
#include "sys/netlink.h"
#include "sys/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ash_overlay {
    char name[16];
    int hub_fd; /* the sandbox's hub, where the link is */
    struct ash_journal *j;
    uint64_t rec;
};

void ash_overlay_name(const char *run_id, char *buf, size_t len)
{
    snprintf(buf, len, "ashx%.11s", run_id);
}

uint32_t ash_overlay_vni(const char *run_id)
{
    uint32_t h = 2166136261u;
    for (const char *s = run_id; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    /* 24 bits, never 0 (some stacks treat it as unset). */
    return (h & 0xffffffu) ? (h & 0xffffffu) : 1;
}

/* Delete link `name` in namespace netns_fd (-1: here). */
static int delete_link(int netns_fd, const char *name, ash_error_t *err)
{
    struct ash_nl *nl;
    if ((netns_fd >= 0 ? ash_nl_open_in(netns_fd, &nl, err) : ash_nl_open(&nl, err)) < 0)
        return -1;
    int r = ash_nl_link_delete_name(nl, name, err);
    ash_nl_close(nl);
    return r;
}

int ash_overlay_create(const char *run_id, const struct ash_overlay_hub *where, uint32_t vni, uint32_t local,
                       const uint32_t *peers, size_t n_peers, struct ash_journal *j, struct ash_overlay **out,
                       ash_error_t *err)
{
    struct ash_overlay *o = calloc(1, sizeof *o);
    struct ash_nl *nl = NULL, *hub = NULL;
    if (!o)
        return ash_error(err, ENOMEM, "overlay");
    o->j = j;
    o->hub_fd = -1;
    ash_overlay_name(run_id, o->name, sizeof o->name);
    const char *bridge = where->bridge;
    json_t *d = json_pack("{s:s, s:s}", "link", o->name, "netns", where->netns);
    int r = !d  ? ash_error(err, ENOMEM, "journal record")
            : j ? ash_journal_append(j, "sandbox.overlay", d, &o->rec, err)
                : 0;
    json_decref(d);
    if (r < 0)
        goto fail;
    o->hub_fd = fcntl(where->fd, F_DUPFD_CLOEXEC, 0);
    if (o->hub_fd < 0) {
        ash_error(err, errno, "overlay: the sandbox's hub namespace");
        goto fail;
    }
    int br = 0, vx = 0;
    if (ash_nl_open(&nl, err) < 0 || ash_nl_open_in(o->hub_fd, &hub, err) < 0 ||
        ash_nl_link_index(hub, bridge, &br, err) < 0)
        goto fail;
    if (br <= 0) {
        ash_error(err, ENODEV, "overlay: no bridge %s in the hub %s", bridge, where->netns);
        goto fail;
    }
    /* Made from here (its UDP socket on this machine's network), a port of the
     * hub's bridge. The bridge has no address (the gateway is the gateway link's,
     * whose MAC no port changes): nothing to pin. */
    if (ash_nl_vxlan_add(nl, o->name, vni, local, br, o->hub_fd, err) < 0 ||
        ash_nl_link_index(hub, o->name, &vx, err) < 0)
        goto fail;
    for (size_t i = 0; i < n_peers; i++)
        if (peers[i] != local && ash_nl_vxlan_peer_add(hub, vx, peers[i], err) < 0)
            goto fail;
    ash_nl_close(nl);
    ash_nl_close(hub);
    *out = o;
    return 0;
fail:
    ash_nl_close(nl);
    ash_nl_close(hub);
    ash_overlay_destroy(o);
    return -1;
}

void ash_overlay_destroy(struct ash_overlay *o)
{
    if (!o)
        return;
    ash_error_t e = {0};
    if (o->rec && delete_link(o->hub_fd, o->name, &e) < 0)
        fprintf(stderr, "aftershock: overlay teardown: %s\n", e.msg);
    else if (o->rec && o->j)
        ash_journal_done(o->j, o->rec, NULL);
    if (o->hub_fd >= 0)
        close(o->hub_fd);
    free(o);
}

/* {"link": "ashx...", "netns": the sandbox's hub} ("netns" absent: made in the
 * namespace recover runs in, by runs before the hub). */
int ash_overlay_undo(json_t *rec, ash_error_t *err)
{
    const char *name = json_string_value(json_object_get(rec, "link"));
    if (!name || strncmp(name, "ashx", 4) != 0 || strlen(name) > 15)
        return ash_error(err, EINVAL, "sandbox.overlay record without an ashx link name");
    const char *ns = json_string_value(json_object_get(rec, "netns"));
    if (ns && (strncmp(ns, "ash-", 4) != 0 || strchr(ns, '/')))
        return ash_error(err, EINVAL, "sandbox.overlay record names a namespace that is not aftershock's: %s", ns);
    if (ns && !ash_netns_exists(ns)) {
        char why[200];
        snprintf(why, sizeof why,
                 "no hub namespace %s is here (removed already, and the link with it, or named in another mount "
                 "namespace)",
                 ns);
        json_object_set_new(rec, "nothing_to_undo", json_string(why));
        return 0;
    }
    int fd = ns ? ash_netns_open(ns, err) : -1;
    if (ns && fd < 0)
        return -1;
    struct ash_nl *nl;
    int r = fd >= 0 ? ash_nl_open_in(fd, &nl, err) : ash_nl_open(&nl, err);
    if (fd >= 0)
        close(fd);
    if (r < 0)
        return -1;
    int idx = 0;
    r = ash_nl_link_index(nl, name, &idx, err);
    if (r == 0 && idx == 0) {
        /* Not here: recover says it found nothing rather than "removed" (from another
         * network namespace than the run's, the link is still where it was made). */
        char why[160];
        snprintf(why, sizeof why,
                 "no link %s is here (removed already, or made in another network namespace: remove it there with "
                 "'ip link del %s')",
                 name, name);
        json_object_set_new(rec, "nothing_to_undo", json_string(why));
    } else if (r == 0 && ash_nl_link_delete(nl, idx, err) < 0) {
        r = ash_error_wrap(err, "link %s", name);
    }
    ash_nl_close(nl);
    return r;
}
