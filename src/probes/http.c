/* Probe `http`: one request per sample through libcurl's multi interface, driven by the loop; easy handles are reused.
 */
#include "env/env.h"
#include "kinds.h"
#include "probes/curl_loop.h"
#include "probes/probe_confs.h"
#include "probes/probe_resolve.h"
#include "probes/probe_socket.h"
#include "sys/clock.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct ash_field http_fields[] = {
    {"url", ASH_F_STRING, offsetof(struct ash_http_conf, url), ASH_FIELD_REQUIRED, "URL to request"},
    {"method", ASH_F_STRING, offsetof(struct ash_http_conf, method), 0, "HTTP method (default GET)"},
    {"expect_status", ASH_F_INT, offsetof(struct ash_http_conf, expect_status), 0,
     "status that counts as ok (default any 2xx)", NULL, NULL, 100, 599},
    {"body", ASH_F_STRING, offsetof(struct ash_http_conf, body), 0, "request body"},
    {"headers", ASH_F_STRLIST, offsetof(struct ash_http_conf, headers), 0, "extra request headers, \"Name: value\""},
    {"keepalive", ASH_F_BOOL, offsetof(struct ash_http_conf, keepalive), 0,
     "reuse connections between samples (default false: each sample connects)"},
    {NULL}};

struct http_sample;

struct http_state {
    const struct ash_probe_spec *p;
    ash_loop *loop;
    ash_curl_loop *cl;
    struct curl_slist *headers;
    struct ash_probe_from *from;  /* NULL: the harness */
    struct ash_dns *dns;          /* the run's DNS server: how `from` resolves names */
    char *url_host, *url_port;    /* from a host: what each sample resolves */
    char *url, *body;             /* with the run's placeholders ({webhook_url}, {run_dir}) substituted */
    struct http_sample *inflight; /* doubly linked: close() abandons them */
    /* Finished samples kept with their easy handle set up: making a handle
     * (curl_easy_init + options, buffers allocated on first transfer) cost
     * more than the request itself on loopback. Singly linked by next. */
    struct http_sample *idle;
    size_t n_idle;
    /* keepalive: the probe's own connection cache. The loop's multi handle is
     * shared by every probe, and its cache would let a probe `from: a` reuse
     * a connection another probe opened in host b's namespace. */
    CURLSH *share;
};

/* Idle handles kept per probe: samples in flight at once are few (timeout / every). */
#define HTTP_IDLE_MAX 8

struct http_sample {
    struct http_state *st;
    CURL *easy;
    ash_timer *timeout;
    ash_sample_done_fn done;
    void *arg;
    int64_t start;
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *connect_to;   /* from a host: name:port -> the address it resolved to */
    struct ash_probe_lookup *lookup; /* its name's query to a container's nameserver, in flight */
    struct http_sample *prev, *next;
};

static void unlink_sample(struct http_sample *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->st->inflight = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

static void free_sample(struct http_sample *s)
{
    curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->connect_to);
    free(s);
}

/* A sample no longer in flight (its handle out of the multi): kept for the
 * next one, or freed. The handle keeps every option but the per-sample
 * CONNECT_TO, whose list goes now. */
static void recycle(struct http_sample *s)
{
    struct http_state *st = s->st;
    if (s->connect_to) {
        curl_easy_setopt(s->easy, CURLOPT_CONNECT_TO, NULL);
        curl_slist_free_all(s->connect_to);
        s->connect_to = NULL;
    }
    if (st->n_idle >= HTTP_IDLE_MAX) {
        free_sample(s);
        return;
    }
    s->timeout = NULL;
    s->done = NULL;
    s->arg = NULL;
    s->prev = NULL;
    s->next = st->idle;
    st->idle = s;
    st->n_idle++;
}

/* Recycle the sample, then report: done may close the probe, so nothing of ours is touched after it. */
static void finish(struct http_sample *s, struct ash_sample *out)
{
    ash_sample_done_fn done = s->done;
    void *arg = s->arg;
    if (s->timeout)
        ash_loop_cancel_timer(s->st->loop, s->timeout);
    unlink_sample(s);
    recycle(s);
    done(arg, out);
}

static void describe_curl_error(struct http_sample *s, CURLcode rc, char *buf, size_t len)
{
    long os_errno = 0;
    curl_easy_getinfo(s->easy, CURLINFO_OS_ERRNO, &os_errno);
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        if (os_errno)
            snprintf(buf, len, "connect: %s", strerror((int)os_errno));
        else
            snprintf(buf, len, "connect: %s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(buf, len, "resolve: %s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
        break;
    default:
        snprintf(buf, len, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
        break;
    }
}

static void on_transfer_done(CURL *easy, CURLcode rc, void *arg)
{
    struct http_sample *s = arg;
    const struct ash_http_conf *c = s->st->p->conf;
    struct ash_sample out = {.start = s->start, .end = ash_now_ns()};
    if (rc != CURLE_OK) {
        describe_curl_error(s, rc, out.detail, sizeof out.detail);
    } else {
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        out.ok = c->expect_status ? status == c->expect_status : (status >= 200 && status <= 299);
        if (!out.ok)
            snprintf(out.detail, sizeof out.detail, "status %ld", status);
    }
    finish(s, &out);
}

static void format_timeout(char *buf, size_t len, int64_t timeout_ns)
{
    if (timeout_ns % ASH_NS_PER_MS == 0)
        snprintf(buf, len, "timeout after %lld ms", (long long)(timeout_ns / ASH_NS_PER_MS));
    else
        snprintf(buf, len, "timeout after %.3f ms", ash_ns_to_ms(timeout_ns));
}

/* Our own timer rather than CURLOPT_TIMEOUT_MS: libcurl counts in whole
 * milliseconds from when it starts the transfer; this fires at start + timeout
 * with the loop's nanosecond timer, the same way for every probe kind. */
static int64_t on_timeout(ash_loop *loop, int64_t now, void *data)
{
    struct http_sample *s = data;
    s->timeout = NULL; /* freed by the loop when we return */
    struct http_state *st = s->st;
    /* From the harness libcurl resolves: a name it still waits for is said as such. */
    curl_off_t looked_up = 0;
    curl_easy_getinfo(s->easy, CURLINFO_NAMELOOKUP_TIME_T, &looked_up);
    ash_curl_loop_remove(st->cl, s->easy);
    struct ash_sample out = {.start = s->start, .end = ash_now_ns()};
    if (!st->from && st->url_host && looked_up == 0)
        snprintf(out.detail, sizeof out.detail, "resolve '%s': no answer from the harness's resolver within %.0f ms",
                 st->url_host, ash_ns_to_ms(out.end - out.start));
    else
        format_timeout(out.detail, sizeof out.detail, st->p->timeout_ns);
    finish(s, &out);
    return ASH_TIMER_DONE;
}

/* The name did not resolve from the probe's host: the transfer never started. */
static int64_t on_resolve_failed(ash_loop *loop, int64_t now, void *data)
{
    struct http_sample *s = data;
    s->timeout = NULL; /* freed by the loop when we return */
    struct ash_sample out = {.start = s->start, .end = ash_now_ns()};
    snprintf(out.detail, sizeof out.detail, "%s", s->errbuf);
    finish(s, &out);
    return ASH_TIMER_DONE;
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return size * nmemb;
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    const struct http_state *st = clientp;
    int fd = ash_probe_socket(st->from, addr->family, addr->socktype, addr->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/* A sample from a host or a container resolves the URL's name as that origin does and
 * tells curl to connect there (CONNECT_TO is per request, unlike CURLOPT_RESOLVE,
 * which fills the DNS cache shared by every probe on the loop). The Host header and TLS
 * name stay the URL's. On failure, why says so. */
static int direct_to(struct http_sample *s, const struct addrinfo *ai, char *why, size_t len)
{
    struct http_state *st = s->st;
    char addr[NI_MAXHOST];
    int rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
    bool v6 = ai->ai_family == AF_INET6;
    if (rc != 0) {
        snprintf(why, len, "resolve '%s': %s", st->url_host, gai_strerror(rc));
        return -1;
    }
    char entry[NI_MAXHOST + 600];
    snprintf(entry, sizeof entry, "%s:%s:%s%s%s:%s", st->url_host, st->url_port, v6 ? "[" : "", addr, v6 ? "]" : "",
             st->url_port);
    s->connect_to = curl_slist_append(NULL, entry);
    if (!s->connect_to || curl_easy_setopt(s->easy, CURLOPT_CONNECT_TO, s->connect_to) != CURLE_OK) {
        snprintf(why, len, "cannot direct the request to %s", addr);
        return -1;
    }
    return 0;
}

/* The transfer of a sample whose name is resolved (or left to curl), with its timeout.
 * The sample is in the in-flight list already. On failure it is still there. */
static int start_transfer(struct http_sample *s, ash_error_t *err)
{
    struct http_state *st = s->st;
    const struct ash_probe_spec *p = st->p;
    if (p->timeout_ns > 0) {
        s->timeout = ash_loop_add_timer(st->loop, s->start + p->timeout_ns, on_timeout, s);
        if (!s->timeout)
            return ash_error(err, ENOMEM, "probe '%s': timer", p->name);
    }
    if (ash_curl_loop_add(st->cl, s->easy, on_transfer_done, s, err) < 0) {
        if (s->timeout)
            ash_loop_cancel_timer(st->loop, s->timeout);
        s->timeout = NULL;
        return ash_error_wrap(err, "probe '%s'", p->name);
    }
    return 0;
}

/* The name's answer from the container's nameserver: the request goes, or the sample
 * fails with why. Already on the loop, so a failure is delivered now. */
static void on_resolved(void *arg, struct addrinfo *ai, const char *why)
{
    struct http_sample *s = arg;
    s->lookup = NULL;
    ash_error_t err = {0};
    struct ash_sample out = {.start = s->start};
    bool started = false;
    if (!ai)
        snprintf(out.detail, sizeof out.detail, "%s", why);
    else if (direct_to(s, ai, out.detail, sizeof out.detail) == 0) {
        started = start_transfer(s, &err) == 0;
        if (!started)
            snprintf(out.detail, sizeof out.detail, "%s", err.msg);
    }
    if (ai)
        freeaddrinfo(ai);
    if (started)
        return; /* in flight: on_transfer_done or on_timeout reports it */
    out.end = ash_now_ns();
    finish(s, &out);
}

/* Split the URL once: its host (a name to resolve per sample, or a literal
 * left alone) and port (the scheme's default when absent). */
static int split_url(struct http_state *st, const char *url)
{
    CURLU *u = curl_url();
    if (!u)
        return -1;
    char *host = NULL, *port = NULL;
    int ret = -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    ret = 0;
    if (host[0] == '[')
        goto out; /* an IPv6 literal: nothing to resolve */
    st->url_host = strdup(host);
    st->url_port = strdup(port);
    if (!st->url_host || !st->url_port)
        ret = -1;
out:
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ret;
}

static CURL *make_easy(struct http_state *st, struct http_sample *s)
{
    const struct ash_http_conf *c = st->p->conf;
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    bool ok = curl_easy_setopt(e, CURLOPT_URL, st->url) == CURLE_OK;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* A sample that times out while libcurl's resolver thread still waits on the
     * harness's nameserver: without this, removing the handle joins that thread, and
     * the loop waits out the resolver (5 s per try). The thread is left to end alone. */
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
    /* Probes measure the system under test, never a proxy from the environment. */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    /* With no proxy, no_proxy decides nothing; set, it spares libcurl reading
     * no_proxy and NO_PROXY from the environment at every transfer. */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "aftershock/" ASH_VERSION);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, st);
    if (!c->keepalive) {
        /* A connection that stays open hides a listener that stopped accepting. */
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    } else if (curl_easy_setopt(e, CURLOPT_SHARE, st->share) != CURLE_OK) {
        ok = false;
    }
    if (c->method && strcasecmp(c->method, "GET") != 0) {
        if (strcasecmp(c->method, "HEAD") == 0)
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        else
            ok = ok && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method) == CURLE_OK;
    }
    if (st->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(st->body));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, st->body);
    }
    if (st->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, st->headers);
    if (!ok) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

static int http_open(struct ash_ctx *ctx, const struct ash_probe_spec *p, void **state, ash_error_t *err)
{
    const struct ash_http_conf *c = p->conf;
    struct ash_probe_from *from;
    if (ash_probe_origin(ctx, p, &from, err) < 0)
        return -1;
    if (!c || !c->url || !*c->url) {
        ash_probe_from_free(from);
        return ash_error_class(err, ASH_ERR_USAGE, 0, "probe '%s': http needs a url", p->name);
    }
    struct http_state *st = calloc(1, sizeof *st);
    if (!st) {
        ash_probe_from_free(from);
        return ash_error(err, ENOMEM, "probe '%s'", p->name);
    }
    st->p = p;
    st->from = from;
    st->dns = ctx->dns;
    st->loop = ctx->loop;
    const char *sdir = ctx->scenario ? ctx->scenario->dir : NULL;
    if (!(st->url = ash_env_substitute(c->url, sdir, ctx->run_dir)) ||
        (c->body && !(st->body = ash_env_substitute(c->body, sdir, ctx->run_dir)))) {
        ash_error(err, ENOMEM, "probe '%s'", p->name);
        goto fail;
    }
    /* From the harness the name is only for a timeout's reason: a URL libcurl's parser
     * does not take fails each sample as before. */
    if (split_url(st, st->url) < 0 && from) {
        ash_error_class(err, ASH_ERR_USAGE, 0, "probe '%s': cannot parse url '%s'", p->name, st->url);
        goto fail;
    }
    for (size_t i = 0; i < c->headers.n; i++) {
        char *h = ash_env_substitute(c->headers.v[i], sdir, ctx->run_dir);
        struct curl_slist *l = h ? curl_slist_append(st->headers, h) : NULL;
        free(h);
        if (!l) {
            ash_error(err, ENOMEM, "probe '%s': headers", p->name);
            goto fail;
        }
        st->headers = l;
    }
    if (c->keepalive) {
        st->share = curl_share_init();
        if (!st->share || curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
            ash_error(err, ENOMEM, "probe '%s': connection cache", p->name);
            goto fail;
        }
    }
    if (ash_curl_loop_ref(ctx->loop, &st->cl, err) < 0) {
        ash_error_wrap(err, "probe '%s'", p->name);
        goto fail;
    }
    *state = st;
    return 0;
fail:
    if (st->share)
        curl_share_cleanup(st->share);
    curl_slist_free_all(st->headers);
    free(st->url_host);
    free(st->url_port);
    free(st->url);
    free(st->body);
    ash_probe_from_free(st->from);
    free(st);
    return -1;
}

static int http_sample(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state, int64_t start,
                       ash_sample_done_fn done, void *arg, ash_error_t *err)
{
    struct http_state *st = state;
    struct http_sample *s = st->idle;
    if (s) {
        st->idle = s->next;
        st->n_idle--;
    } else {
        s = calloc(1, sizeof *s);
        if (!s)
            return ash_error(err, ENOMEM, "probe '%s': sample", p->name);
        s->st = st;
        s->easy = make_easy(st, s);
        if (!s->easy) {
            free(s);
            return ash_error(err, ENOMEM, "probe '%s': cannot set up the request", p->name);
        }
    }
    /* The handle (and errbuf, which it points to) stays; the rest is this sample's. */
    s->done = done, s->arg = arg, s->start = start;
    s->timeout = NULL;
    s->lookup = NULL;
    s->prev = s->next = NULL;
    s->errbuf[0] = '\0';
    /* Linked before anything starts so that close() finds it whatever happens next. */
    s->next = st->inflight;
    if (s->next)
        s->next->prev = s;
    st->inflight = s;
    if (st->from && st->url_host) {
        struct addrinfo *ai = NULL;
        struct ash_probe_query q = {st->from, st->dns, st->url_host, st->url_port, SOCK_STREAM};
        int64_t t = p->timeout_ns > 0 ? p->timeout_ns : ASH_NS_PER_S;
        int r =
            ash_probe_resolve(st->loop, &q, start + t, on_resolved, s, &s->lookup, &ai, s->errbuf, sizeof s->errbuf);
        if (r == 1)
            return 0; /* on_resolved goes on from here */
        if (r == 0) {
            r = direct_to(s, ai, s->errbuf, sizeof s->errbuf);
            freeaddrinfo(ai);
        }
        if (r < 0) {
            /* A failed sample, not an error of the run; reported from the loop. */
            s->timeout = ash_loop_add_timer(st->loop, ash_now_ns(), on_resolve_failed, s);
            if (!s->timeout) {
                unlink_sample(s);
                recycle(s);
                return ash_error(err, ENOMEM, "probe '%s': timer", p->name);
            }
            return 0;
        }
    }
    if (start_transfer(s, err) < 0) {
        unlink_sample(s);
        recycle(s);
        return -1;
    }
    return 0;
}

static void http_close(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state)
{
    struct http_state *st = state;
    if (!st)
        return;
    while (st->inflight) {
        struct http_sample *s = st->inflight;
        st->inflight = s->next;
        if (s->timeout)
            ash_loop_cancel_timer(st->loop, s->timeout);
        ash_probe_lookup_cancel(s->lookup);
        ash_curl_loop_remove(st->cl, s->easy);
        free_sample(s);
    }
    while (st->idle) {
        struct http_sample *s = st->idle;
        st->idle = s->next;
        free_sample(s);
    }
    ash_curl_loop_unref(st->cl);
    if (st->share)
        curl_share_cleanup(st->share); /* after every easy handle that used it */
    curl_slist_free_all(st->headers);
    free(st->url_host);
    free(st->url_port);
    free(st->url);
    free(st->body);
    ash_probe_from_free(st->from);
    free(st);
}

const struct ash_probe_kind ash_probe_http = {
    .c = {.name = "http",
          .summary = "HTTP request; ok when the status matches (libcurl)",
          .fields = http_fields,
          .conf_size = sizeof(struct ash_http_conf),
          .shorthand = "url"},
    .open = http_open,
    .sample = http_sample,
    .close = http_close,
};
