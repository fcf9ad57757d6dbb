/* Detector `webhook`: an HTTP receiver (libmicrohttpd) for the system's own
 * alerts. Prometheus Alertmanager's webhook JSON (firing alerts are
 * detections, resolved ones timeline events) or any generic POST. It runs on
 * the run's event loop: MHD in epoll mode without a thread, its epoll fd
 * registered with the loop, MHD_run on readiness and on MHD's own timeout.
 * Connections are accepted by webhook_guard.c (deadlines, caps, eviction),
 * which hands them to MHD. */
#include "detect/webhook.h"
#include "detect/webhook_body.h"
#include "detect/webhook_guard.h"
#include "env/sandbox.h"
#include "kinds.h"
#include "sys/addr.h"
#include "sys/fs.h"
#include "sys/clock.h"
#include "sys/procsock.h"
#include "sys/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A bigger body is refused (413): alerts are small, a flood must not eat memory. */
#define WEBHOOK_MAX_BODY (1024 * 1024)

enum webhook_format { WF_ALERTMANAGER, WF_GENERIC };
static const char *const format_names[] = {"alertmanager", "generic", NULL};

struct webhook_conf {
    char *listen;
    char *path;
    int format;
    char *token;
    char *alertname;
    char *host;
    bool allow_remote;
    long long max_connections;
    long long per_client;
    long long reserve; /* -1: a quarter of max_connections */
    int64_t request_timeout_ns;
    /* The monitoring pipeline's own delays, when the scenario states them (-1: not). */
    int64_t scrape_ns, evaluation_ns, for_ns, group_wait_ns;
};

#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_PER_CLIENT 32
#define DEFAULT_REQUEST_TIMEOUT_NS (2 * ASH_NS_PER_S)

static const struct ash_field webhook_fields[] = {
    {"listen", ASH_F_STRING, offsetof(struct webhook_conf, listen), 0,
     "ADDRESS:PORT to listen on (default 127.0.0.1:0: a free port the kernel picks, so it collides with nothing, "
     "e.g. not Alertmanager's own 9093; IPv6 as [::1]:PORT). Configs and commands name it as {webhook_url} / "
     "{webhook_port} ({webhook_url:NAME} with more than one webhook)"},
    {"path", ASH_F_STRING, offsetof(struct webhook_conf, path), 0, "URL path accepting POSTs (default /alerts)"},
    {"format", ASH_F_ENUM, offsetof(struct webhook_conf, format), 0,
     "alertmanager (webhook JSON: firing alerts detect, resolved go to the timeline) | generic (any POST detects)",
     format_names},
    {"token", ASH_F_STRING, offsetof(struct webhook_conf, token), 0,
     "require 'Authorization: Bearer TOKEN' (401 otherwise)"},
    {"alertname", ASH_F_STRING, offsetof(struct webhook_conf, alertname), 0,
     "alertmanager: only firing alerts with this alertname detect; others go to the timeline"},
    {"host", ASH_F_STRING, offsetof(struct webhook_conf, host), 0,
     "sandbox host whose network namespace the receiver listens in (its services post to 127.0.0.1 there)"},
    {"allow_remote", ASH_F_BOOL, offsetof(struct webhook_conf, allow_remote), 0,
     "allow a non-loopback listen address (default false: loopback only)"},
    {"max_connections", ASH_F_INT, offsetof(struct webhook_conf, max_connections), 0,
     "connections open at once (default 256); beyond max_connections - reserve the oldest unanswered one "
     "of the client holding the most is closed for each new one",
     NULL, NULL, 4, 100000},
    {"per_client", ASH_F_INT, offsetof(struct webhook_conf, per_client), 0,
     "connections open at once from one source address (default 32; over it, that client's oldest is closed)", NULL,
     NULL, 1, 100000},
    {"reserve", ASH_F_INT, offsetof(struct webhook_conf, reserve), 0,
     "slots kept free for new clients by evicting the oldest (default max_connections / 4)", NULL, NULL, 0, 99999},
    {"request_timeout", ASH_F_DURATION, offsetof(struct webhook_conf, request_timeout_ns), 0,
     "a whole request (headers and body) must arrive within this, counted from the connection or the previous "
     "answer (default 2s)"},
    {"scrape_interval", ASH_F_DURATION, offsetof(struct webhook_conf, scrape_ns), 0,
     "the monitoring's scrape interval, as configured (only reported: with the others it gives the detection "
     "floor, scrape + evaluation + for + group_wait)"},
    {"evaluation_interval", ASH_F_DURATION, offsetof(struct webhook_conf, evaluation_ns), 0,
     "the alert rule's evaluation interval, as configured (reported in the detection floor)"},
    {"for", ASH_F_DURATION, offsetof(struct webhook_conf, for_ns), 0,
     "the alert rule's 'for:', as configured (reported in the detection floor)"},
    {"group_wait", ASH_F_DURATION, offsetof(struct webhook_conf, group_wait_ns), 0,
     "Alertmanager's group_wait for the route, as configured (reported in the detection floor)"},
    {NULL}};

static void webhook_defaults(void *conf)
{
    struct webhook_conf *c = conf;
    c->max_connections = DEFAULT_MAX_CONNECTIONS;
    c->per_client = DEFAULT_PER_CLIENT;
    c->reserve = -1;
    c->request_timeout_ns = DEFAULT_REQUEST_TIMEOUT_NS;
    c->scrape_ns = c->evaluation_ns = c->for_ns = c->group_wait_ns = -1;
}

static int64_t webhook_floor(const struct ash_detector_spec *d, char *how, size_t len)
{
    const struct webhook_conf *c = d->conf;
    const struct {
        const char *what;
        int64_t ns;
    } terms[] = {{"scrape", c->scrape_ns},
                 {"evaluation", c->evaluation_ns},
                 {"for", c->for_ns},
                 {"group_wait", c->group_wait_ns}};
    int64_t sum = -1;
    size_t k = 0;
    how[0] = '\0';
    for (size_t i = 0; i < sizeof terms / sizeof *terms; i++) {
        if (terms[i].ns < 0)
            continue;
        sum = (sum < 0 ? 0 : sum) + terms[i].ns;
        if (k < len)
            k += (size_t)snprintf(how + k, len - k, "%s%s %g s", k ? " + " : "", terms[i].what,
                                  (double)terms[i].ns / 1e9);
    }
    return sum;
}

static struct ash_wh_limits conf_limits(const struct webhook_conf *c)
{
    return (struct ash_wh_limits){
        .max_connections = (unsigned)c->max_connections,
        .per_client = (unsigned)(c->per_client < c->max_connections ? c->per_client : c->max_connections),
        .reserve = (unsigned)(c->reserve >= 0 ? c->reserve : c->max_connections / 4),
        .request_timeout_ns = c->request_timeout_ns};
}

static const char *conf_listen(const struct webhook_conf *c)
{
    return c->listen ? c->listen : "127.0.0.1:0";
}

static const char *conf_path(const struct webhook_conf *c)
{
    return c->path ? c->path : "/alerts";
}

/* "1.2.3.4:80" or "[::1]:80" to a socket address; numeric only (no DNS at parse time). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *why, size_t why_len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            snprintf(why, why_len, "expected [IPV6]:PORT");
            return -1;
        }
        if ((size_t)(close - s - 1) >= sizeof host) {
            snprintf(why, why_len, "address too long");
            return -1;
        }
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host) {
            snprintf(why, why_len, "expected ADDRESS:PORT, e.g. 127.0.0.1:9093");
            return -1;
        }
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) {
        snprintf(why, why_len, "port must be a number from 0 to 65535");
        return -1;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%ld", port);
    int rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0) {
        snprintf(why, why_len, "'%s' is not a numeric IP address", host);
        return -1;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int webhook_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct webhook_conf *c = conf;
    struct sockaddr_storage ss;
    socklen_t len;
    char why[128];
    ash_node lv = ash_node_at(node, "listen");
    if (parse_listen(conf_listen(c), &ss, &len, why, sizeof why) < 0)
        return ash_node_fail(&lv, err, "listen: %s", why);
    if (!ash_addr_is_loopback(&ss) && !c->allow_remote)
        return ash_node_fail(&lv, err,
                             "listen address '%s' is not loopback: anyone who can reach it could fake a detection; "
                             "set 'allow_remote: true' if that is intended",
                             conf_listen(c));
    if (conf_path(c)[0] != '/') {
        ash_node v = ash_node_at(node, "path");
        return ash_node_fail(&v, err, "path must start with '/'");
    }
    if (c->host) {
        ash_node v = ash_node_at(node, "host");
        if (sc->n_hosts == 0)
            return ash_node_fail(&v, err, "'host' needs sandbox mode: this scenario has no 'hosts:'");
        if (!ash_scenario_host(sc, c->host))
            return ash_node_fail(&v, err, "no host named '%s' in this scenario", c->host);
        if (ash_scenario_host_node(sc, c->host))
            return ash_node_fail(&v, err, "%s", ash_placed_refusal(sc, c->host, "a webhook detector"));
    }
    if (c->alertname && c->format != WF_ALERTMANAGER) {
        ash_node v = ash_node_at(node, "alertname");
        return ash_node_fail(&v, err, "'alertname' only applies to format: alertmanager");
    }
    if (c->reserve >= c->max_connections) {
        ash_node v = ash_node_at(node, "reserve");
        return ash_node_fail(&v, err, "reserve (%lld) must be below max_connections (%lld)", c->reserve,
                             c->max_connections);
    }
    if (c->request_timeout_ns < 10 * ASH_NS_PER_MS) {
        ash_node v = ash_node_at(node, "request_timeout");
        return ash_node_fail(&v, err, "request_timeout must be at least 10ms");
    }
    return 0;
}

/* An alert seen firing: a re-sent group carries it again and must not count twice. */
struct seen_alert {
    char *key;
    int64_t fired; /* startsAt (monotonic) or ASH_T_UNKNOWN: a re-fire after resolution has a new one */
    bool resolved;
};

struct webhook_state {
    struct ash_ctx *ctx;
    const struct ash_detector_spec *d;
    const struct webhook_conf *c;
    struct MHD_Daemon *mhd;
    struct ash_wh_guard *guard;
    int epfd;
    ash_timer *timer;
    uint16_t port;
    unsigned long long requests, detections, rejected;
    struct seen_alert *alerts;
    size_t n_alerts, cap_alerts;
};

/* One request's accumulated body. */
struct request {
    char *body;
    size_t len;
    bool too_big;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *text, bool auth_challenge)
{
    char *copy = strdup(text);
    struct MHD_Response *r = copy ? MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!r) {
        free(copy);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    if (auth_challenge)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Constant-time comparison: the token's length may leak, its content must not. */
static bool token_ok(const char *want, const char *header)
{
    static const char prefix[] = "Bearer ";
    if (!header || strncasecmp(header, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *got = header + sizeof prefix - 1;
    size_t wl = strlen(want), gl = strlen(got);
    unsigned diff = (unsigned)(wl ^ gl);
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < gl ? got[i] : 0);
    return diff == 0;
}

/* What a body's items mean for the run (webhook_body.c parses them). */
struct body_items {
    struct webhook_state *st;
    int64_t t;
    /* startsAt/endsAt are wall-clock times: anchored to the monotonic clock at
     * the request, by the two clocks read back to back. */
    int64_t anchor_wall, anchor_mono;
};

static void body_items_init(struct body_items *b, struct webhook_state *st, int64_t t)
{
    struct timespec wall;
    int64_t mono0 = ash_now_ns();
    clock_gettime(CLOCK_REALTIME, &wall);
    *b = (struct body_items){.st = st,
                             .t = t,
                             .anchor_mono = (mono0 + ash_now_ns()) / 2,
                             .anchor_wall = (int64_t)wall.tv_sec * ASH_NS_PER_S + wall.tv_nsec};
}

static int64_t wall_to_mono(const struct body_items *b, int64_t wall_ns)
{
    return b->anchor_mono + (wall_ns - b->anchor_wall);
}

static struct seen_alert *seen_find(struct webhook_state *st, const char *key)
{
    for (size_t i = st->n_alerts; i-- > 0;)
        if (strcmp(st->alerts[i].key, key) == 0)
            return &st->alerts[i];
    return NULL;
}

static struct seen_alert *seen_add(struct webhook_state *st, const char *key, int64_t fired)
{
    if (ash_grow(&st->alerts, &st->cap_alerts, st->n_alerts + 1, sizeof *st->alerts, 16) < 0)
        return NULL;
    char *k = strdup(key);
    if (!k)
        return NULL;
    st->alerts[st->n_alerts] = (struct seen_alert){.key = k, .fired = fired};
    return &st->alerts[st->n_alerts++];
}

/* Without ctx->alert (a kind tested on its own): what the engine used to be told. */
static void alert_to_ctx(struct webhook_state *st, const struct ash_alert *a)
{
    if (st->ctx->alert) {
        st->ctx->alert(st->ctx, st->d, a);
    } else if (a->firing && a->matches) {
        st->ctx->detect(st->ctx, st->d, a->notified, a->detail);
    } else {
        ash_ctx_eventf(st->ctx, a->notified, a->firing ? "alert-firing" : "alert-resolved", "%s: %s", st->d->name,
                       a->detail);
    }
}

static int on_item(void *arg, const struct ash_wh_item *it)
{
    struct body_items *b = arg;
    struct webhook_state *st = b->st;
    if (!it->status) { /* a generic POST: a detection */
        st->detections++;
        st->ctx->detect(st->ctx, st->d, b->t, it->detail);
        return 0;
    }
    if (it->what == ASH_WH_OTHER_STATUS) {
        ash_ctx_eventf(st->ctx, b->t, "alert", "%s: %s (status '%s')", st->d->name, it->detail, it->status);
        return 0;
    }
    /* Per alert, by its identity: a re-sent group is not counted twice. */
    int64_t w, prec = 0, ew, eprec;
    struct ash_alert al = {.key = it->key,
                           .name = it->name,
                           .detail = it->detail,
                           .matches = !st->c->alertname || strcmp(st->c->alertname, it->name) == 0,
                           .fired = ASH_T_UNKNOWN,
                           .notified = b->t,
                           .resolved = ASH_T_UNKNOWN};
    if (ash_wh_rfc3339(it->starts_at, &w, &prec)) {
        al.fired = wall_to_mono(b, w);
        al.fired_res = prec;
    }
    struct seen_alert *seen = seen_find(st, al.key);
    if (it->what == ASH_WH_DETECT || it->what == ASH_WH_FIRING_OTHER) {
        al.firing = true;
        /* The same alert again (a re-sent group): already told. A new startsAt
         * after it resolved is a new firing. */
        if (!seen || (seen->resolved && (al.fired == ASH_T_UNKNOWN || seen->fired != al.fired))) {
            if (!seen_add(st, al.key, al.fired))
                return -1;
            if (al.matches)
                st->detections++;
            alert_to_ctx(st, &al);
        }
        return 0;
    }
    /* Resolved. */
    al.resolved = ash_wh_rfc3339(it->ends_at, &ew, &eprec) ? wall_to_mono(b, ew) : b->t;
    if (!seen || !seen->resolved) {
        if (seen)
            seen->resolved = true;
        else if ((seen = seen_add(st, al.key, al.fired)))
            seen->resolved = true;
        alert_to_ctx(st, &al);
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct webhook_state *st = cls;
    struct request *rq = *con_cls;
    if (!rq) {
        /* First call: headers only. Refuse early what we will refuse anyway. */
        if (strcmp(url, conf_path(st->c)) != 0)
            return respond(conn, MHD_HTTP_NOT_FOUND, "no such path\n", false);
        if (strcmp(method, "POST") != 0)
            return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n", false);
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rq->too_big) {
            if (rq->len + *upload_data_size > WEBHOOK_MAX_BODY) {
                rq->too_big = true;
            } else {
                char *b = realloc(rq->body, rq->len + *upload_data_size + 1);
                if (!b)
                    return MHD_NO;
                memcpy(b + rq->len, upload_data, *upload_data_size);
                rq->body = b;
                rq->len += *upload_data_size;
                rq->body[rq->len] = '\0';
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* The whole request is in: this is the moment the system told us. */
    int64_t t = ash_now_ns();
    ash_wh_guard_request_in(conn);
    st->requests++;
    char why[300] = "";
    if (st->c->token &&
        !token_ok(st->c->token, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))) {
        st->rejected++;
        ash_ctx_eventf(st->ctx, t, "webhook-rejected", "%s: missing or wrong bearer token (401)", st->d->name);
        return respond(conn, MHD_HTTP_UNAUTHORIZED, "bearer token required\n", true);
    }
    if (rq->too_big) {
        st->rejected++;
        ash_ctx_eventf(st->ctx, t, "webhook-rejected", "%s: body over %d bytes (413)", st->d->name, WEBHOOK_MAX_BODY);
        return respond(conn, MHD_HTTP_CONTENT_TOO_LARGE, "body too large\n", false);
    }
    const char *body = rq->body ? rq->body : "";
    struct body_items items;
    body_items_init(&items, st, t);
    int ret = ash_wh_body_parse(st->c->format == WF_ALERTMANAGER ? ASH_WH_ALERTMANAGER : ASH_WH_GENERIC,
                                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE), body,
                                rq->len, st->c->alertname, on_item, &items, why, sizeof why);
    if (ret < 0) {
        st->rejected++;
        ash_ctx_eventf(st->ctx, t, "webhook-rejected", "%s: malformed body (400): %s", st->d->name, why);
        char text[sizeof why + 2];
        snprintf(text, sizeof text, "%s\n", why);
        return respond(conn, MHD_HTTP_BAD_REQUEST, text, false);
    }
    return respond(conn, MHD_HTTP_OK, "ok\n", false);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)toe;
    ash_wh_guard_request_done(conn);
    struct request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

static int64_t mhd_timer(ash_loop *loop, int64_t now, void *data);

/* After every MHD_run: wake again when MHD wants to (idle connection timeouts). */
static void rearm(struct webhook_state *st)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (st->timer) {
        ash_loop_cancel_timer(st->ctx->loop, st->timer);
        st->timer = NULL;
    }
    if (MHD_get_timeout(st->mhd, &ms) == MHD_YES &&
        !(st->timer = ash_loop_add_timer(st->ctx->loop, ash_now_ns() + (int64_t)ms * ASH_NS_PER_MS, mhd_timer, st)))
        ash_ctx_eventf(st->ctx, ash_now_ns(), "warning",
                       "webhook detector: out of memory arming the server's timeouts (idle connections stay open)");
}

static int64_t mhd_timer(ash_loop *loop, int64_t now, void *data)
{
    (void)loop, (void)now;
    struct webhook_state *st = data;
    st->timer = NULL;
    MHD_run(st->mhd);
    rearm(st);
    return ASH_TIMER_DONE;
}

static void mhd_ready(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop, (void)fd, (void)events;
    struct webhook_state *st = data;
    MHD_run(st->mhd);
    rearm(st);
}

static void guard_run_http(void *arg)
{
    struct webhook_state *st = arg;
    MHD_run(st->mhd);
    rearm(st);
}

static void guard_failed(void *arg, const char *why)
{
    struct webhook_state *st = arg;
    ash_ctx_fail(st->ctx, "detector '%s': %s", st->d->name, why);
}

static void guard_saturated(void *arg, int64_t t, const char *summary)
{
    struct webhook_state *st = arg;
    ash_ctx_eventf(st->ctx, t, "webhook-saturated", "%s: %s", st->d->name, summary);
}

struct bind_args {
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;
    int saved_errno;
};

static int bind_socket(void *arg)
{
    struct bind_args *b = arg;
    b->fd = socket(b->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (b->fd < 0)
        goto fail;
    int one = 1;
    setsockopt(b->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* A deep backlog: a burst of connections waits in it for the guard to
     * accept (and shed) them, instead of SYNs being dropped and retried 1 s later. */
    if (bind(b->fd, (struct sockaddr *)&b->ss, b->len) < 0 || listen(b->fd, SOMAXCONN) < 0)
        goto fail;
    return 0;
fail:
    b->saved_errno = errno;
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    return -1;
}

/* Who listens on the port of `ss` (in network namespace nsfd, -1: ours):
 * "pid 4242 (alertmanager) listens there", from sock_diag and /proc/PID/fd. */
static void port_holder(const struct sockaddr_storage *ss, int nsfd, char *out, size_t len)
{
    uint16_t port = ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
                                                    : ((const struct sockaddr_in *)ss)->sin_port);
    struct ash_listener ls[32];
    size_t n = 0;
    ash_error_t e = {0};
    if (ash_tcp_listeners(nsfd, port, ls, sizeof ls / sizeof *ls, &n, &e) < 0) {
        snprintf(out, len, "the port is in use (cannot tell by whom: %s)", e.msg);
        return;
    }
    if (n == 0) {
        snprintf(out, len, "the port is in use, but no socket listens on it (a connection still holds it?)");
        return;
    }
    uint64_t inodes[32];
    for (size_t i = 0; i < n; i++)
        inodes[i] = ls[i].inode;
    pid_t mine = 0, other = 0;
    ash_socket_holders(0, inodes, n, &mine, &other);
    char comm[32];
    if (other == getpid())
        snprintf(out, len, "this aftershock (pid %d) already listens there (another detector of the scenario?)",
                 (int)other);
    else if (other > 0) {
        ash_proc_comm(other, comm, sizeof comm);
        snprintf(out, len, "pid %d (%s) listens there", (int)other, comm);
    } else
        snprintf(out, len, "a socket no process here holds listens there (another namespace's, or one being closed)");
}

static void webhook_stop(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state)
{
    (void)d;
    struct webhook_state *st = state;
    if (!st)
        return;
    if (st->timer)
        ash_loop_cancel_timer(ctx->loop, st->timer);
    if (st->epfd >= 0)
        ash_loop_del_fd(ctx->loop, st->epfd);
    ash_wh_guard_flush(st->guard); /* while the run still records events */
    if (st->mhd)
        MHD_stop_daemon(st->mhd); /* closes every connection (the guard hears each close) */
    ash_wh_guard_free(st->guard); /* and the listening socket */
    for (size_t i = 0; i < st->n_alerts; i++)
        free(st->alerts[i].key);
    free(st->alerts);
    free(st);
}

static int webhook_start(struct ash_ctx *ctx, const struct ash_detector_spec *d, void **state, ash_error_t *err)
{
    const struct webhook_conf *c = d->conf;
    struct bind_args b = {.fd = -1};
    char why[128];
    if (parse_listen(conf_listen(c), &b.ss, &b.len, why, sizeof why) < 0)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "listen '%s': %s", conf_listen(c), why);
    /* The socket is ours, not MHD's: so it can be made inside a sandbox host's
     * network namespace, and a busy port gives a message naming it. */
    int nsfd = -1;
    if (c->host) {
        struct ash_host *h = ctx->sandbox ? ash_sandbox_host(ctx->sandbox, c->host) : NULL;
        if (!h)
            return ash_error_class(err, ASH_ERR_USAGE, ENOENT, "no sandbox host named '%s'", c->host);
        nsfd = ash_host_netns_fd(h);
        if (ash_host_run_in_netns(h, bind_socket, &b) < 0 && b.fd < 0 && !b.saved_errno)
            b.saved_errno = errno;
    } else {
        bind_socket(&b);
    }
    if (b.fd < 0 && b.saved_errno == EADDRINUSE) {
        /* Someone else's port: not a fault of the scenario's run but of this
         * machine (exit 3), and the message says who holds it. */
        char holder[200];
        port_holder(&b.ss, nsfd, holder, sizeof holder);
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EADDRINUSE,
                               "cannot listen on %s%s%s: %s; give 'listen:' another port, or leave it out for a free "
                               "one (configs name it {webhook_url})",
                               conf_listen(c), c->host ? " in host " : "", c->host ? c->host : "", holder);
    }
    if (b.fd < 0)
        return ash_error(err, b.saved_errno, "cannot listen on %s%s%s", conf_listen(c), c->host ? " in host " : "",
                         c->host ? c->host : "");
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    uint16_t port = 0;
    if (getsockname(b.fd, (struct sockaddr *)&bound, &blen) == 0)
        port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                 : ((struct sockaddr_in *)&bound)->sin_port);

    struct ash_wh_limits lim = conf_limits(c);
    /* Every slot is a descriptor; a receiver that hits EMFILE sheds what it
     * holds, but a limit it can never reach is a configuration error. The 64:
     * what the rest of the run (probes, services, journal) keeps open. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < ash_wh_guard_mhd_limit(&lim) + 64) {
        close(b.fd);
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EMFILE,
                               "webhook '%s': max_connections %u needs about %u file descriptors and the soft limit "
                               "(ulimit -n) is %llu: lower max_connections or raise the limit",
                               d->name, lim.max_connections, ash_wh_guard_mhd_limit(&lim) + 64,
                               (unsigned long long)rl.rlim_cur);
    }

    struct webhook_state *st = calloc(1, sizeof *st);
    if (!st) {
        close(b.fd);
        return ash_error(err, ENOMEM, "webhook");
    }
    st->ctx = ctx;
    st->d = d;
    st->c = c;
    st->epfd = -1;
    st->port = port;
    struct ash_wh_guard_hooks hooks = {
        .run_http = guard_run_http, .saturated = guard_saturated, .failed = guard_failed, .arg = st};
    if (ash_wh_guard_new(&st->guard, ctx->loop, b.fd, &lim, &hooks, err) < 0) { /* owns b.fd now */
        free(st);
        return -1;
    }
    /* No listening socket for MHD: the guard accepts. MHD's own limits stay
     * above the guard's (they would refuse the newest connection); its idle
     * timeout is only a backstop for a connection stuck while answered. */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | (bound.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    st->mhd =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, st, MHD_OPTION_NOTIFY_COMPLETED, on_completed, st,
                         MHD_OPTION_NOTIFY_CONNECTION, ash_wh_guard_notify, st->guard, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, ash_wh_guard_mhd_limit(&lim), MHD_OPTION_END);
    if (!st->mhd) {
        webhook_stop(ctx, d, st);
        return ash_error(err, EIO, "libmicrohttpd could not start on %s", conf_listen(c));
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(st->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || info->epoll_fd < 0) {
        webhook_stop(ctx, d, st);
        return ash_error(err, EIO, "libmicrohttpd gave no epoll descriptor");
    }
    if (ash_loop_add_fd(ctx->loop, info->epoll_fd, EPOLLIN, mhd_ready, st, err) < 0) {
        webhook_stop(ctx, d, st);
        return -1;
    }
    st->epfd = info->epoll_fd;
    if (ash_wh_guard_attach(st->guard, st->mhd, err) < 0) {
        webhook_stop(ctx, d, st);
        return -1;
    }
    rearm(st);
    char addr[INET6_ADDRSTRLEN] = "?";
    if (bound.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&bound)->sin6_addr, addr, sizeof addr);
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&bound)->sin_addr, addr, sizeof addr);
    ash_ctx_eventf(ctx, ash_now_ns(), "webhook-listening", "%s: http://%s%s%s:%u%s%s%s", d->name,
                   bound.ss_family == AF_INET6 ? "[" : "", addr, bound.ss_family == AF_INET6 ? "]" : "", port,
                   conf_path(c), c->host ? " in host " : "", c->host ? c->host : "");
    *state = st;
    return 0;
}

static const char *const webhook_placeholders[] = {"webhook_url", "webhook_port", NULL};

/* {webhook_url}: where a sender on this machine (or in the detector's sandbox
 * host) posts: a wildcard address becomes its loopback. */
static void webhook_values(const struct ash_detector_spec *d, void *state,
                           void (*set)(void *arg, const char *name, const char *value), void *arg)
{
    struct webhook_state *st = state;
    struct sockaddr_storage ss;
    socklen_t len;
    char why[128], addr[INET6_ADDRSTRLEN] = "127.0.0.1", url[INET6_ADDRSTRLEN + 300], port[8];
    if (!st || parse_listen(conf_listen(st->c), &ss, &len, why, sizeof why) < 0)
        return;
    bool v6 = ss.ss_family == AF_INET6;
    if (v6) {
        struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_UNSPECIFIED(a))
            *a = in6addr_loopback;
        inet_ntop(AF_INET6, a, addr, sizeof addr);
    } else if (((struct sockaddr_in *)&ss)->sin_addr.s_addr != htonl(INADDR_ANY)) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
    }
    snprintf(port, sizeof port, "%u", st->port);
    snprintf(url, sizeof url, "http://%s%s%s:%u%s", v6 ? "[" : "", addr, v6 ? "]" : "", st->port, conf_path(st->c));
    (void)d;
    set(arg, "webhook_url", url);
    set(arg, "webhook_port", port);
}

uint16_t ash_webhook_port(const void *state)
{
    return state ? ((const struct webhook_state *)state)->port : 0;
}

const struct ash_detector_kind ash_detector_webhook = {
    .c = {.name = "webhook",
          .summary = "the system posts an alert (Alertmanager webhook JSON or any POST) to an HTTP receiver",
          .fields = webhook_fields,
          .conf_size = sizeof(struct webhook_conf),
          .defaults = webhook_defaults,
          .validate = webhook_validate},
    .start = webhook_start,
    .stop = webhook_stop,
    .floor = webhook_floor,
    .placeholders = webhook_placeholders,
    .values = webhook_values,
};
