/* Forwarding: a query for a name the server holds no record of goes to an upstream resolver
 * (a container's own, for a `dns` fault on a container), and its answer back to the client.
 * UDP to the upstream, one socket, the query's id rewritten to find its client again. */
#include "dns/dns_int.h"
#include "sys/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* In flight at once; the oldest is dropped when a new one needs its slot (its client
 * retries, as it would after a lost datagram). A power of two: id % FWD_SLOTS. */
#define FWD_SLOTS 256
#define FWD_TIMEOUT_NS (5 * ASH_NS_PER_S)

struct fwd_slot {
    bool used;
    uint16_t id, orig_id;
    int64_t sent, delay_ns;
    struct ash_dns_tcp *conn; /* TCP client (NULL: UDP, to `to`) */
    struct sockaddr_storage to;
    socklen_t to_len;
};

struct ash_dns_fwd {
    int fd;
    uint32_t mark;
    uint16_t next;
    struct fwd_slot slots[FWD_SLOTS];
};

static void on_reply(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)events;
    struct ash_dns *d = data;
    uint8_t buf[65536];
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0)
            return;
        if (n < 12)
            continue;
        uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
        struct fwd_slot *s = &d->fwd->slots[id % FWD_SLOTS];
        if (!s->used || s->id != id || ash_now_ns() - s->sent > FWD_TIMEOUT_NS)
            continue; /* late, or not ours */
        s->used = false;
        buf[0] = (uint8_t)(s->orig_id >> 8);
        buf[1] = (uint8_t)s->orig_id;
        uint8_t *msg = malloc((size_t)n);
        if (!msg)
            continue;
        memcpy(msg, buf, (size_t)n);
        d->answer(d, msg, (size_t)n, s->delay_ns, s->conn, s->conn ? NULL : &s->to, s->to_len);
    }
}

int ash_dns_forward_to(struct ash_dns *d, const char *addr, int port, uint32_t mark, ash_error_t *err)
{
    if (!d->loop || d->fwd)
        return ash_error(err, EINVAL, "DNS server: forwarding needs an event loop, once");
    struct sockaddr_in up = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &up.sin_addr) != 1)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EINVAL,
                               "DNS server: upstream resolver '%s' is not an IPv4 address", addr);
    struct ash_dns_fwd *f = calloc(1, sizeof *f);
    if (!f)
        return ash_error(err, ENOMEM, "DNS server: forwarding");
    f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd < 0) {
        free(f);
        return ash_error(err, errno, "DNS server: forwarding socket");
    }
    /* The mark lets the redirect that brings the client's queries here pass ours by. */
    if ((mark && setsockopt(f->fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) ||
        connect(f->fd, (struct sockaddr *)&up, sizeof up) < 0 ||
        ash_loop_add_fd(d->loop, f->fd, EPOLLIN, on_reply, d, NULL) < 0) {
        int e = errno;
        close(f->fd);
        free(f);
        return ash_error(err, e, "DNS server: cannot forward to %s:%d", addr, port);
    }
    f->next = (uint16_t)ash_now_ns();
    f->mark = mark;
    d->fwd = f;
    return 0;
}

void ash_dns_forward(struct ash_dns *d, const uint8_t *q, size_t len, int64_t delay_ns, struct ash_dns_tcp *conn,
                     const struct sockaddr_storage *from, socklen_t from_len)
{
    if (!d->fwd || len < 12 || len > 65535)
        return;
    uint8_t *msg = malloc(len);
    if (!msg)
        return;
    memcpy(msg, q, len);
    uint16_t id = d->fwd->next++;
    struct fwd_slot *s = &d->fwd->slots[id % FWD_SLOTS];
    *s = (struct fwd_slot){.used = true,
                           .id = id,
                           .orig_id = (uint16_t)(q[0] << 8 | q[1]),
                           .sent = ash_now_ns(),
                           .delay_ns = delay_ns,
                           .conn = conn,
                           .to_len = from_len};
    if (from)
        s->to = *from;
    msg[0] = (uint8_t)(id >> 8);
    msg[1] = (uint8_t)id;
    if (send(d->fwd->fd, msg, len, MSG_DONTWAIT) < 0)
        s->used = false;
    free(msg);
}

void ash_dns_forward_forget(struct ash_dns *d, const struct ash_dns_tcp *conn)
{
    for (size_t i = 0; d->fwd && i < FWD_SLOTS; i++)
        if (d->fwd->slots[i].conn == conn)
            d->fwd->slots[i].used = false;
}

/* The servers that answer a namespace's queries (few: one per dns fault on a container). */
static struct ash_dns *served;

void ash_dns_serve_netns(struct ash_dns *d, unsigned long long ino)
{
    for (struct ash_dns **p = &served; *p; p = &(*p)->next_served)
        if (*p == d) {
            *p = d->next_served;
            break;
        }
    d->netns_ino = ino;
    if (ino) {
        d->next_served = served;
        served = d;
    }
}

struct ash_dns *ash_dns_of_netns(unsigned long long ino)
{
    for (struct ash_dns *d = served; d; d = d->next_served)
        if (d->netns_ino == ino)
            return d;
    return NULL;
}

uint32_t ash_dns_forward_mark(const struct ash_dns *d)
{
    return d->fwd ? d->fwd->mark : 0;
}

void ash_dns_forward_free(struct ash_dns *d)
{
    ash_dns_serve_netns(d, 0);
    if (!d->fwd)
        return;
    ash_loop_del_fd(d->loop, d->fwd->fd);
    close(d->fwd->fd);
    free(d->fwd);
    d->fwd = NULL;
}
