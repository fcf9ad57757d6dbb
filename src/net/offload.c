/* TX checksum offload through the ethtool ioctl, inside a chosen network namespace. */
#include "net/offload.h"
#include "sys/netns.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct csum_call {
    const char *ifname;
    __u32 cmd;
    __u32 data;
    int e;
};

static int csum_here(void *arg)
{
    struct csum_call *c = arg;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->e = errno;
        return 0;
    }
    struct ethtool_value ev = {.cmd = c->cmd, .data = c->data};
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", c->ifname);
    ifr.ifr_data = (char *)&ev;
    c->e = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? errno : 0;
    c->data = ev.data;
    close(fd);
    return 0;
}

static int call(int netns_fd, struct csum_call *c, ash_error_t *err)
{
    int r = netns_fd < 0 ? csum_here(c) : ash_ns_run(netns_fd, CLONE_NEWNET, csum_here, c);
    if (r < 0)
        return ash_error(err, errno, "ethtool: cannot enter the network namespace");
    if (c->e)
        return ash_error(err, c->e, "ethtool: TX checksum setting of %s", c->ifname);
    return 0;
}

int ash_txcsum_get(int netns_fd, const char *ifname, bool *on, ash_error_t *err)
{
    struct csum_call c = {.ifname = ifname, .cmd = ETHTOOL_GTXCSUM};
    if (call(netns_fd, &c, err) < 0)
        return -1;
    *on = c.data != 0;
    return 0;
}

int ash_txcsum_set(int netns_fd, const char *ifname, bool on, ash_error_t *err)
{
    struct csum_call c = {.ifname = ifname, .cmd = ETHTOOL_STXCSUM, .data = on};
    return call(netns_fd, &c, err);
}
