/* Listening TCP sockets through NETLINK_SOCK_DIAG: one dump per family, the
 * kernel's own table (no parsing of /proc/net/tcp{,6} text), with the socket
 * inodes that tell which process holds each listener. */
#include "sys/sockdiag.h"
#include "sys/netns.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_diag(void *arg)
{
    int *fd = arg;
    *fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    return *fd < 0 ? -1 : 0;
}

static int dump_family(int fd, int family, uint16_t port, struct ash_listener *out, size_t max, size_t *n,
                       ash_error_t *err)
{
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req_v2 r;
    } req = {.nh = {.nlmsg_len = sizeof req,
                    .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                    .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                    .nlmsg_seq = (uint32_t)family},
             .r = {.sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = 1u << TCP_LISTEN}};
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return ash_error(err, errno, "sock_diag request");
    static _Thread_local char buf[32768];
    for (;;) {
        ssize_t len = recv(fd, buf, sizeof buf, 0);
        if (len < 0 && errno == EINTR)
            continue;
        if (len < 0)
            return ash_error(err, errno, "sock_diag answer");
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                /* No IPv6 in this kernel (or namespace): nothing listens there. */
                if (family == AF_INET6 && (e->error == -EAFNOSUPPORT || e->error == -ENOENT))
                    return 0;
                return ash_error(err, -e->error, "sock_diag");
            }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                continue;
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            if (ntohs(m->id.idiag_sport) != port)
                continue;
            if (*n < max) {
                struct ash_listener *l = &out[*n];
                memset(l, 0, sizeof *l);
                l->inode = m->idiag_inode;
                l->family = m->idiag_family;
                l->port = port;
                memcpy(l->addr, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
            }
            (*n)++;
        }
    }
}

int ash_tcp_listeners(int netns_fd, uint16_t port, struct ash_listener *out, size_t max, size_t *n, ash_error_t *err)
{
    *n = 0;
    int fd = -1;
    /* The socket answers for the namespace it was made in: make it there. */
    int r = netns_fd >= 0 ? ash_ns_run(netns_fd, CLONE_NEWNET, open_diag, &fd) : open_diag(&fd);
    if (r < 0)
        return ash_error(err, errno, "sock_diag socket");
    r = dump_family(fd, AF_INET, port, out, max, n, err);
    if (r == 0)
        r = dump_family(fd, AF_INET6, port, out, max, n, err);
    close(fd);
    if (*n > max)
        *n = max;
    return r;
}
