/* The fleet channel over GnuTLS: non-blocking connect, bounded handshake, JSON lines (see channel.h). */
#include "fleet/channel.h"
#include "sys/clock.h"
#include "sys/fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* TLS 1.3 only, and only the PSK key exchange with (EC)DHE: no certificate
 * exchange to fall back to, so a peer without the key cannot complete a
 * handshake at all, and a recorded session cannot be read with a key that
 * leaks later. */
static const char priority[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK:+DHE-PSK";
/* The PSK identity: one key per run, so the name carries nothing; the node says who it is in hello. */
static const char identity[] = "aftershock-fleet";

enum state { CONNECTING, HANDSHAKE, OPEN, CLOSED };

struct ash_channel {
    ash_loop *loop;
    int fd;
    bool server;
    enum state state;
    gnutls_session_t tls;
    gnutls_psk_client_credentials_t ccred;
    gnutls_psk_server_credentials_t scred;
    struct ash_psk key;
    ash_timer *deadline; /* connect + handshake bound */
    int64_t handshake_ns;
    struct ash_channel_cbs cbs;
    void *data;
    char peer[128];
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_off, out_len, out_cap;
    size_t sending; /* a record gnutls took but could not send yet (E_AGAIN): sent again with the same size */
};

static void fail(struct ash_channel *ch, const ash_error_t *why)
{
    if (ch->state == CLOSED)
        return;
    ash_channel_close(ch);
    if (ch->cbs.closed)
        ch->cbs.closed(ch, why, ch->data);
}

static void failf(struct ash_channel *ch, int code, const char *fmt, const char *detail)
{
    ash_error_t e = {0};
    ash_error(&e, 0, fmt, ch->peer, detail); /* each message names its cause itself */
    e.code = code;
    fail(ch, &e);
}

static void watch(struct ash_channel *ch, uint32_t events)
{
    ash_error_t e = {0};
    if (ash_loop_mod_fd(ch->loop, ch->fd, events, &e) < 0)
        fail(ch, &e);
}

static int64_t handshake_expired(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    (void)now;
    struct ash_channel *ch = data;
    ch->deadline = NULL;
    char bound[32];
    snprintf(bound, sizeof bound, "%.1fs", (double)ch->handshake_ns / 1e9);
    failf(ch, ETIMEDOUT, "%s: the connection and TLS handshake did not finish within %s", bound);
    return ASH_TIMER_DONE;
}

static int flush(struct ash_channel *ch)
{
    while (ch->state == OPEN && (ch->sending || ch->out_off < ch->out_len)) {
        size_t n = ch->sending ? ch->sending : ch->out_len - ch->out_off;
        if (n > 16384)
            n = 16384;
        ssize_t w = gnutls_record_send(ch->tls, ch->out + ch->out_off, n);
        if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
            ch->sending = n;
            watch(ch, EPOLLIN | EPOLLOUT);
            return 0;
        }
        if (w < 0) {
            failf(ch, EIO, "%s: cannot send: %s", gnutls_strerror((int)w));
            return -1;
        }
        ch->sending = 0;
        ch->out_off += (size_t)w;
    }
    if (ch->state == OPEN) {
        ch->out_off = ch->out_len = 0;
        watch(ch, EPOLLIN);
    }
    return 0;
}

/* Hand every complete line to the owner. The owner may close the channel in its callback. */
static void deliver(struct ash_channel *ch)
{
    size_t start = 0;
    while (ch->state == OPEN) {
        char *nl = memchr(ch->in + start, '\n', ch->in_len - start);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (ch->in + start));
        json_error_t je;
        json_t *msg = json_loadb(ch->in + start, len, JSON_REJECT_DUPLICATES, &je);
        start += len + 1;
        if (!msg || !json_is_object(msg)) {
            json_decref(msg);
            failf(ch, EPROTO, "%s: a message that is not a JSON object: %s", msg ? "not an object" : je.text);
            return;
        }
        if (ch->cbs.message)
            ch->cbs.message(ch, msg, ch->data);
        json_decref(msg);
    }
    if (ch->state != OPEN)
        return;
    memmove(ch->in, ch->in + start, ch->in_len - start);
    ch->in_len -= start;
    if (ch->in_len >= ASH_CHANNEL_MAX_LINE)
        failf(ch, EMSGSIZE, "%s: a message longer than %s bytes", "4 MiB");
}

/* Read until GnuTLS has nothing left: records already decrypted and buffered
 * inside GnuTLS (gnutls_record_check_pending) never wake epoll again, so the
 * loop goes on while they last, not only while the socket has bytes. */
static void read_all(struct ash_channel *ch)
{
    for (;;) {
        if (ash_grow(&ch->in, &ch->in_cap, ch->in_len + 16384, 1, 65536) < 0) {
            failf(ch, ENOMEM, "%s: cannot buffer a message%s", "");
            return;
        }
        ssize_t r = gnutls_record_recv(ch->tls, ch->in + ch->in_len, ch->in_cap - ch->in_len);
        if (r == GNUTLS_E_AGAIN && gnutls_record_check_pending(ch->tls) == 0)
            break;
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
            continue;
        if (r < 0 && !gnutls_error_is_fatal((int)r))
            continue; /* a warning alert: consumed, the session goes on */
        if (r == 0) {
            deliver(ch);
            ash_error_t e = {0};
            ash_error(&e, 0, "%s closed the connection", ch->peer);
            fail(ch, &e);
            return;
        }
        if (r < 0) {
            failf(ch, r == GNUTLS_E_PREMATURE_TERMINATION ? ECONNRESET : EIO, "%s: the connection broke: %s",
                  gnutls_strerror((int)r));
            return;
        }
        ch->in_len += (size_t)r;
        if (ch->in_len >= ASH_CHANNEL_MAX_LINE)
            break; /* deliver decides: a full line goes, an overlong one fails */
    }
    deliver(ch);
}

static void handshake(struct ash_channel *ch)
{
    int rc = gnutls_handshake(ch->tls);
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
        watch(ch, gnutls_record_get_direction(ch->tls) ? EPOLLOUT : EPOLLIN);
        return;
    }
    if (rc < 0) {
        gnutls_alert_send_appropriate(ch->tls, rc); /* best effort: the peer learns why, not only that */
        /* A wrong key shows up as a failed binder check on the server and as
         * an alert (or a dropped connection) on the client: say what to check. */
        failf(ch, EACCES,
              "%s: TLS handshake refused: %s (both sides must hold this run's fleet key: is the agent's "
              "--key-file the key the coordinator made?)",
              gnutls_strerror(rc));
        return;
    }
    ch->state = OPEN;
    if (ch->deadline) {
        ash_loop_cancel_timer(ch->loop, ch->deadline);
        ch->deadline = NULL;
    }
    if (ch->cbs.open)
        ch->cbs.open(ch, ch->data);
    if (ch->state != OPEN)
        return;
    flush(ch);
    if (ch->state == OPEN && gnutls_record_check_pending(ch->tls) > 0)
        read_all(ch);
}

static void on_fd(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)fd;
    struct ash_channel *ch = data;
    if (ch->state == CONNECTING) {
        int soerr = 0;
        socklen_t l = sizeof soerr;
        if (getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0)
            soerr = errno;
        if (soerr) {
            failf(ch, soerr, "cannot connect to %s: %s", strerror(soerr));
            return;
        }
        ch->state = HANDSHAKE;
    }
    if (ch->state == HANDSHAKE) {
        handshake(ch);
        return;
    }
    if (ch->state != OPEN)
        return;
    if (events & EPOLLOUT)
        flush(ch);
    if (ch->state == OPEN && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        read_all(ch);
}

static int psk_lookup(gnutls_session_t s, const char *user, gnutls_datum_t *key)
{
    (void)user; /* one key per run: every identity gets it, and only its holder completes the handshake */
    struct ash_channel *ch = gnutls_session_get_ptr(s);
    key->data = gnutls_malloc(sizeof ch->key.key);
    if (!key->data)
        return -1;
    memcpy(key->data, ch->key.key, sizeof ch->key.key);
    key->size = sizeof ch->key.key;
    return 0;
}

static int setup_tls(struct ash_channel *ch, ash_error_t *err)
{
    int rc = gnutls_init(&ch->tls, (ch->server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
    if (rc < 0)
        return ash_error(err, ENOMEM, "TLS: %s", gnutls_strerror(rc));
    gnutls_session_set_ptr(ch->tls, ch);
    gnutls_datum_t k = {.data = ch->key.key, .size = sizeof ch->key.key};
    if (ch->server) {
        rc = gnutls_psk_allocate_server_credentials(&ch->scred);
        if (rc == 0) {
            gnutls_psk_set_server_credentials_function(ch->scred, psk_lookup);
            rc = gnutls_credentials_set(ch->tls, GNUTLS_CRD_PSK, ch->scred);
        }
    } else {
        rc = gnutls_psk_allocate_client_credentials(&ch->ccred);
        if (rc == 0)
            rc = gnutls_psk_set_client_credentials(ch->ccred, identity, &k, GNUTLS_PSK_KEY_RAW);
        if (rc == 0)
            rc = gnutls_credentials_set(ch->tls, GNUTLS_CRD_PSK, ch->ccred);
    }
    const char *where = NULL;
    if (rc == 0)
        rc = gnutls_priority_set_direct(ch->tls, priority, &where);
    if (rc < 0)
        return ash_error(err, EINVAL, "TLS setup: %s%s%s", gnutls_strerror(rc), where ? " at " : "",
                         where ? where : "");
    gnutls_transport_set_int(ch->tls, ch->fd);
    gnutls_handshake_set_timeout(ch->tls, 0); /* the loop's timer bounds it, not a blocking wait */
    return 0;
}

static int channel_new(ash_loop *loop, int fd, bool server, const struct ash_psk *key, int64_t handshake_ns,
                       const struct ash_channel_cbs *cbs, void *data, struct ash_channel **out, ash_error_t *err)
{
    struct ash_channel *ch = calloc(1, sizeof *ch);
    if (!ch) {
        close(fd);
        return ash_error(err, ENOMEM, "channel");
    }
    *ch = (struct ash_channel){.loop = loop, .fd = fd, .server = server, .key = *key, .cbs = *cbs, .data = data};
    ch->handshake_ns = handshake_ns > 0 ? handshake_ns : ASH_CHANNEL_HANDSHAKE_NS;
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    char host[64] = "?", port[16] = "?";
    if (getpeername(fd, (struct sockaddr *)&sa, &sl) == 0)
        getnameinfo((struct sockaddr *)&sa, sl, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(ch->peer, sizeof ch->peer, "%s:%s", host, port);
    *out = ch;
    return 0;
}

static int channel_start(struct ash_channel *ch, uint32_t events, ash_error_t *err)
{
    int one = 1;
    setsockopt(ch->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small messages, timed round trips */
    if (setup_tls(ch, err) < 0)
        return -1;
    ch->deadline = ash_loop_add_timer(ch->loop, ash_now_ns() + ch->handshake_ns, handshake_expired, ch);
    if (!ch->deadline)
        return ash_error(err, ENOMEM, "cannot bound the TLS handshake (no timer)");
    return ash_loop_add_fd(ch->loop, ch->fd, events, on_fd, ch, err);
}

int ash_channel_accept(ash_loop *loop, int fd, const struct ash_psk *key, int64_t handshake_ns,
                       const struct ash_channel_cbs *cbs, void *data, struct ash_channel **out, ash_error_t *err)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int saved = errno;
        close(fd);
        return ash_error(err, saved, "channel: cannot make the socket non-blocking");
    }
    struct ash_channel *ch;
    if (channel_new(loop, fd, true, key, handshake_ns, cbs, data, &ch, err) < 0)
        return -1;
    ch->state = HANDSHAKE;
    if (channel_start(ch, EPOLLIN, err) < 0) {
        ash_channel_free(ch);
        return -1;
    }
    *out = ch;
    return 0;
}

/* Split "host:port" or "[v6]:port". */
static int split_hostport(const char *s, char *host, size_t hlen, char *port, size_t plen, ash_error_t *err)
{
    const char *colon = NULL, *h = s;
    size_t n;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            goto bad;
        h = s + 1;
        n = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            goto bad;
        n = (size_t)(colon - s);
    }
    if (n == 0 || n >= hlen || !colon[1] || strlen(colon + 1) >= plen)
        goto bad;
    memcpy(host, h, n);
    host[n] = '\0';
    snprintf(port, plen, "%s", colon + 1);
    return 0;
bad:
    return ash_error_class(err, ASH_ERR_USAGE, 0, "'%s' is not HOST:PORT (or [IPV6]:PORT)", s);
}

int ash_channel_connect(ash_loop *loop, const char *hostport, const struct ash_psk *key, int64_t handshake_ns,
                        const struct ash_channel_cbs *cbs, void *data, struct ash_channel **out, ash_error_t *err)
{
    char host[256], port[32];
    if (split_hostport(hostport, host, sizeof host, port, sizeof port, err) < 0)
        return -1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        ash_error(err, 0, "cannot resolve the coordinator's address %s: %s", hostport, gai_strerror(rc));
        err->code = EHOSTUNREACH;
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return ash_error(err, errno, "channel: socket");
    }
    bool pending = connect(fd, ai->ai_addr, ai->ai_addrlen) < 0;
    int saved = errno;
    freeaddrinfo(ai);
    if (pending && saved != EINPROGRESS) {
        close(fd);
        return ash_error(err, saved, "cannot connect to %s", hostport);
    }
    struct ash_channel *ch;
    if (channel_new(loop, fd, false, key, handshake_ns, cbs, data, &ch, err) < 0)
        return -1;
    snprintf(ch->peer, sizeof ch->peer, "%s", hostport);
    ch->state = pending ? CONNECTING : HANDSHAKE;
    if (channel_start(ch, pending ? EPOLLOUT : EPOLLOUT | EPOLLIN, err) < 0) {
        ash_channel_free(ch);
        return -1;
    }
    *out = ch;
    return 0;
}

int ash_channel_send(struct ash_channel *ch, json_t *msg, ash_error_t *err)
{
    if (ch->state == CLOSED)
        return ash_error(err, ENOTCONN, "the channel to %s is closed", ch->peer);
    char *line = json_dumps(msg, JSON_COMPACT);
    if (!line)
        return ash_error(err, ENOMEM, "cannot encode a message");
    size_t n = strlen(line);
    if (n + 1 >= ASH_CHANNEL_MAX_LINE) {
        free(line);
        return ash_error(err, EMSGSIZE, "a message of %zu bytes is over the channel's 4 MiB", n);
    }
    if (ash_grow(&ch->out, &ch->out_cap, ch->out_len + n + 1, 1, 4096) < 0) {
        free(line);
        return ash_error(err, ENOMEM, "cannot queue a message");
    }
    memcpy(ch->out + ch->out_len, line, n);
    ch->out[ch->out_len + n] = '\n';
    ch->out_len += n + 1;
    free(line);
    if (ch->state == OPEN && flush(ch) < 0)
        return ash_error(err, EIO, "cannot send to %s", ch->peer);
    return 0;
}

bool ash_channel_is_open(const struct ash_channel *ch)
{
    return ch && ch->state == OPEN;
}

const char *ash_channel_peer(const struct ash_channel *ch)
{
    return ch->peer;
}

int ash_channel_addrs4(const struct ash_channel *ch, uint32_t *local, uint32_t *peer)
{
    struct sockaddr_in l, p;
    socklen_t ll = sizeof l, pl = sizeof p;
    if (!ch || ch->fd < 0 || getsockname(ch->fd, (struct sockaddr *)&l, &ll) < 0 ||
        getpeername(ch->fd, (struct sockaddr *)&p, &pl) < 0 || l.sin_family != AF_INET || p.sin_family != AF_INET)
        return -1;
    *local = l.sin_addr.s_addr;
    *peer = p.sin_addr.s_addr;
    return 0;
}

void ash_channel_close(struct ash_channel *ch)
{
    if (!ch || ch->state == CLOSED)
        return;
    if (ch->state == OPEN)
        gnutls_bye(ch->tls, GNUTLS_SHUT_WR); /* non-blocking: a close_notify if the socket takes it now */
    ch->state = CLOSED;
    if (ch->deadline) {
        ash_loop_cancel_timer(ch->loop, ch->deadline);
        ch->deadline = NULL;
    }
    if (ch->fd >= 0) {
        ash_loop_del_fd(ch->loop, ch->fd);
        close(ch->fd);
        ch->fd = -1;
    }
}

void ash_channel_free(struct ash_channel *ch)
{
    if (!ch)
        return;
    ash_channel_close(ch);
    if (ch->tls)
        gnutls_deinit(ch->tls);
    if (ch->ccred)
        gnutls_psk_free_client_credentials(ch->ccred);
    if (ch->scred)
        gnutls_psk_free_server_credentials(ch->scred);
    free(ch->in);
    free(ch->out);
    memset(&ch->key, 0, sizeof ch->key);
    free(ch);
}
