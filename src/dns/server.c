/* The DNS server's sockets: UDP and TCP listeners on the event loop, delayed answers, start for a run. */
#include "dns/dns_int.h"
#include "dns/tcp_framing.h"
#include "sys/addr.h"
#include "env/sandbox.h"
#include "sys/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_BATCH 64                    /* datagrams per wake-up, so TCP and timers get their turn */
#define TCP_IDLE_NS (10 * ASH_NS_PER_S) /* a connection with nothing to say is closed (RFC 7766 6.2.3) */
#define TCP_MAX_CONNS 256

struct ash_dns_tcp {
    struct ash_dns *d;
    int fd;
    struct ash_dns_framer in; /* what the client sent, cut into messages */
    ash_timer *idle;
    struct sockaddr_storage peer;
    struct ash_dns_tcp *prev, *next;
};

struct ash_dns_delayed {
    struct ash_dns *d;
    ash_timer *timer;
    struct ash_dns_tcp *conn; /* TCP: the connection (NULL once it closed); UDP: NULL */
    struct sockaddr_storage to;
    socklen_t to_len;
    uint8_t *msg;
    size_t len;
    struct ash_dns_delayed *prev, *next;
};

int ash_dns_new(ash_loop *loop, struct ash_dns **out, ash_error_t *err)
{
    struct ash_dns *d = calloc(1, sizeof *d);
    if (!d)
        return ash_error(err, ENOMEM, "DNS server");
    d->loop = loop;
    d->answer = ash_dns_answer;
    d->udp_fd = d->tcp_fd = -1;
    d->rng = (uint64_t)ash_now_ns() | 1u;
    d->cache_gen = 1;
    d->origin = ldns_dname_new_frm_str(".");
    if (!d->origin) {
        free(d);
        return ash_error(err, ENOMEM, "DNS server");
    }
    *out = d;
    return 0;
}

static void delayed_free(struct ash_dns_delayed *p)
{
    struct ash_dns *d = p->d;
    if (p->prev)
        p->prev->next = p->next;
    else
        d->delayed = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free(p->msg);
    free(p);
}

static void tcp_close(struct ash_dns_tcp *c)
{
    struct ash_dns *d = c->d;
    for (struct ash_dns_delayed *p = d->delayed; p; p = p->next)
        if (p->conn == c)
            p->conn = NULL;
    ash_dns_forward_forget(d, c);
    if (c->idle)
        ash_loop_cancel_timer(d->loop, c->idle);
    ash_loop_del_fd(d->loop, c->fd);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}

void ash_dns_free(struct ash_dns *d)
{
    if (!d)
        return;
    while (d->conns)
        tcp_close(d->conns);
    while (d->delayed) {
        if (d->delayed->timer)
            ash_loop_cancel_timer(d->loop, d->delayed->timer);
        delayed_free(d->delayed);
    }
    ash_dns_forward_free(d);
    int fds[] = {d->udp_fd, d->tcp_fd};
    for (size_t i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            ash_loop_del_fd(d->loop, fds[i]);
            close(fds[i]);
        }
    for (size_t i = 0; i < d->n_recs; i++) {
        free(d->recs[i].name);
        free(d->recs[i].value);
        ldns_rr_free(d->recs[i].rr);
    }
    free(d->recs);
    free(d->bucket_head);
    free(d->bucket_tail);
    ash_dns_rules_free(d);
    ash_dns_cache_free(d);
    ldns_rdf_deep_free(d->origin);
    free(d);
}

void ash_dns_get_stats(const struct ash_dns *d, struct ash_dns_stats *s)
{
    *s = d->stats;
}
int ash_dns_port(const struct ash_dns *d)
{
    return d->port;
}

/* TCP: a two-byte length, then the message (RFC 1035 4.2.2). */
static void tcp_send(struct ash_dns_tcp *c, uint8_t *msg, size_t len)
{
    uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    struct iovec iov[2] = {{hdr, 2}, {msg, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    /* An answer is at most 64 KiB into an empty socket buffer: a short write
     * means the client stopped reading, and a DNS client that does not read
     * its answers gets its connection closed rather than buffered forever. */
    if (w != (ssize_t)(len + 2))
        tcp_close(c);
}

static int64_t delayed_due(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    (void)now;
    struct ash_dns_delayed *p = data;
    p->timer = NULL;
    if (p->conn)
        tcp_send(p->conn, p->msg, p->len);
    else if (p->to_len)
        sendto(p->d->udp_fd, p->msg, p->len, MSG_DONTWAIT, (struct sockaddr *)&p->to, p->to_len);
    delayed_free(p);
    return ASH_TIMER_DONE;
}

/* Hold an answer for the rule's delay; the message is kept, not rebuilt, so the
 * answer is what the rule said when the query came. */
static void schedule(struct ash_dns *d, uint8_t *msg, size_t len, int64_t delay, struct ash_dns_tcp *conn,
                     const struct sockaddr_storage *to, socklen_t to_len)
{
    struct ash_dns_delayed *p = calloc(1, sizeof *p);
    if (!p) {
        free(msg);
        return;
    }
    *p = (struct ash_dns_delayed){.d = d, .conn = conn, .to_len = to_len, .msg = msg, .len = len};
    if (to)
        p->to = *to;
    p->timer = ash_loop_add_timer(d->loop, ash_now_ns() + delay, delayed_due, p);
    if (!p->timer) {
        free(msg);
        free(p);
        return;
    }
    p->next = d->delayed;
    if (p->next)
        p->next->prev = p;
    d->delayed = p;
}

void ash_dns_answer(struct ash_dns *d, uint8_t *msg, size_t len, int64_t delay_ns, struct ash_dns_tcp *conn,
                    const struct sockaddr_storage *to, socklen_t to_len)
{
    if (delay_ns > 0) {
        schedule(d, msg, len, delay_ns, conn, to, to_len);
        return;
    }
    if (conn)
        tcp_send(conn, msg, len);
    else
        sendto(d->udp_fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to, to_len);
    free(msg);
}

static void on_udp(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)events;
    struct ash_dns *d = data;
    uint8_t buf[65536];
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
        if (n < 0)
            return; /* EAGAIN, or an ICMP error from an earlier send: nothing to do */
        uint8_t *out;
        size_t out_len;
        int64_t delay;
        int r = ash_dns_respond(d, buf, (size_t)n, (struct sockaddr *)&from, false, &out, &out_len, &delay);
        if (r == 2)
            ash_dns_forward(d, buf, (size_t)n, delay, NULL, &from, flen);
        else if (r == 1)
            ash_dns_answer(d, out, out_len, delay, NULL, &from, flen);
    }
}

static int64_t tcp_idle(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    (void)now;
    struct ash_dns_tcp *c = data;
    c->idle = NULL;
    tcp_close(c);
    return ASH_TIMER_DONE;
}

static void on_tcp_data(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_dns_tcp *c = data;
    struct ash_dns *d = c->d;
    (void)events;
    size_t room;
    uint8_t *space = ash_dns_framer_space(&c->in, &room);
    ssize_t n = recv(fd, space, room, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        tcp_close(c);
        return;
    }
    if (n < 0)
        return;
    ash_dns_framer_filled(&c->in, (size_t)n);
    if (c->idle)
        ash_loop_cancel_timer(loop, c->idle);
    if (!(c->idle = ash_loop_add_timer(loop, ash_now_ns() + TCP_IDLE_NS, tcp_idle, c))) {
        tcp_close(c); /* a connection without its idle limit could be held open forever */
        return;
    }
    /* Every complete message in the buffer (clients may pipeline). */
    const uint8_t *msg;
    size_t len;
    while (ash_dns_framer_next(&c->in, &msg, &len)) {
        uint8_t *out;
        size_t out_len;
        int64_t delay;
        int r = ash_dns_respond(d, msg, len, (struct sockaddr *)&c->peer, true, &out, &out_len, &delay);
        if (r == 2)
            ash_dns_forward(d, msg, len, delay, c, NULL, 0);
        if (r != 1)
            continue;
        if (delay > 0) {
            schedule(d, out, out_len, delay, c, NULL, 0);
            continue;
        }
        tcp_send(c, out, out_len);
        free(out);
        /* tcp_send may have closed c. */
        bool alive = false;
        for (struct ash_dns_tcp *k = d->conns; k && !alive; k = k->next)
            alive = k == c;
        if (!alive)
            return;
    }
}

static void on_tcp_accept(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    struct ash_dns *d = data;
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int cfd = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        size_t n = 0;
        for (struct ash_dns_tcp *k = d->conns; k; k = k->next)
            n++;
        struct ash_dns_tcp *c = n < TCP_MAX_CONNS ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            close(cfd);
            continue;
        }
        c->d = d;
        c->fd = cfd;
        c->peer = peer;
        if (ash_loop_add_fd(loop, cfd, EPOLLIN, on_tcp_data, c, NULL) < 0) {
            close(cfd);
            free(c);
            continue;
        }
        c->idle = ash_loop_add_timer(loop, ash_now_ns() + TCP_IDLE_NS, tcp_idle, c);
        c->next = d->conns;
        if (c->next)
            c->next->prev = c;
        d->conns = c;
        d->stats.tcp_conns++;
        if (!c->idle)
            tcp_close(c); /* a connection without its idle limit could be held open forever */
    }
}

static int bound_socket(const struct sockaddr_storage *sa, int type, ash_error_t *err)
{
    int fd = socket(sa->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ash_error(err, errno, "DNS server: socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t len = sa->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (bind(fd, (const struct sockaddr *)sa, len) < 0) {
        int e = errno;
        close(fd);
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, e, "DNS server: cannot bind %s",
                               type == SOCK_DGRAM ? "UDP" : "TCP");
    }
    if (type == SOCK_STREAM && listen(fd, 64) < 0) {
        int e = errno;
        close(fd);
        return ash_error(err, e, "DNS server: listen");
    }
    return fd;
}

int ash_dns_listen(struct ash_dns *d, const char *addr, int port, ash_error_t *err)
{
    if (!d->loop)
        return ash_error(err, EINVAL, "DNS server: no event loop to listen on");
    if (d->udp_fd >= 0)
        return ash_error(err, EBUSY, "DNS server: already listening");
    char spec[INET6_ADDRSTRLEN + 16], why[120];
    snprintf(spec, sizeof spec, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
    struct sockaddr_storage sa;
    if (ash_parse_listen(spec, &sa, why, sizeof why) < 0)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "DNS server: %s: %s", spec, why);
    /* TCP on the same port as UDP (port 0 picks UDP's first). A port free for UDP
     * may be taken for TCP (a listener, or a connection's local port): with port 0,
     * pick again, a few times, rather than fail on another program's socket. */
    for (int tries = 0;; tries++) {
        d->udp_fd = bound_socket(&sa, SOCK_DGRAM, err);
        if (d->udp_fd < 0)
            return ash_error_wrap(err, "on %s", spec);
        struct sockaddr_storage bound;
        socklen_t blen = sizeof bound;
        getsockname(d->udp_fd, (struct sockaddr *)&bound, &blen);
        d->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                   : ((struct sockaddr_in6 *)&bound)->sin6_port);
        ash_error_t e = {0};
        d->tcp_fd = bound_socket(&bound, SOCK_STREAM, &e);
        if (d->tcp_fd >= 0)
            break;
        if (port != 0 || e.code != EADDRINUSE || tries == 15) {
            if (err)
                *err = e;
            goto fail;
        }
        close(d->udp_fd);
        d->udp_fd = -1;
    }
    if (ash_loop_add_fd(d->loop, d->udp_fd, EPOLLIN, on_udp, d, err) < 0)
        goto fail;
    if (ash_loop_add_fd(d->loop, d->tcp_fd, EPOLLIN, on_tcp_accept, d, err) < 0) {
        ash_loop_del_fd(d->loop, d->udp_fd);
        goto fail;
    }
    return 0;
fail:
    ash_error_wrap(err, "on %s", spec);
    if (d->tcp_fd >= 0)
        close(d->tcp_fd);
    close(d->udp_fd);
    d->udp_fd = d->tcp_fd = -1;
    return -1;
}

int ash_dns_start(ash_loop *loop, struct ash_sandbox *sb, const struct ash_scenario *sc, struct ash_dns **out,
                  ash_error_t *err)
{
    *out = NULL;
    if (!sb && !(sc && sc->dns.set && sc->dns.listen))
        return 0;
    struct ash_dns *d;
    if (ash_dns_new(loop, &d, err) < 0)
        return -1;
    if (sb && ash_dns_add_sandbox(d, sb, err) < 0)
        goto fail;
    if (sc && ash_dns_add_scenario(d, &sc->dns, err) < 0)
        goto fail;
    if (sb) {
        if (ash_dns_listen(d, ash_sandbox_gateway(sb), 53, err) < 0)
            goto fail;
        /* Names now come from this server: /etc/hosts keeps only localhost and
         * the host's own name, so DNS faults reach clients as in production. */
        if (ash_sandbox_set_hosts_table(sb, false, err) < 0)
            goto fail;
    } else {
        struct sockaddr_storage sa;
        char why[120], addr[INET6_ADDRSTRLEN];
        if (ash_parse_listen(sc->dns.listen, &sa, why, sizeof why) < 0) {
            ash_error_class(err, ASH_ERR_USAGE, EINVAL, "dns.listen '%s': %s", sc->dns.listen, why);
            goto fail;
        }
        int port = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
                                                 : ((struct sockaddr_in6 *)&sa)->sin6_port);
        if (sa.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, addr, sizeof addr);
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, addr, sizeof addr);
        if (ash_dns_listen(d, addr, port, err) < 0)
            goto fail;
    }
    *out = d;
    return 0;
fail:
    ash_dns_free(d);
    return -1;
}
