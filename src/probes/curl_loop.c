/* Glue between libcurl's multi socket interface and the ash_loop.
 *
 * libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); we map those onto loop fds and one
 * loop timer, and feed readiness back with curl_multi_socket_action. This keeps
 * every http probe on the loop thread with no extra thread or poll of its own.
 * One multi handle per loop is shared by all http probes of a run, so DNS
 * answers and (when keepalive is on) connections are shared as a browser would. */
#include "probes/curl_loop.h"
#include "sys/fs.h"
#include "sys/clock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ash_curl_loop {
    ash_loop *loop;
    CURLM *multi;
    ash_timer *timer; /* libcurl's single timeout, NULL when none is wanted */
    unsigned refs;
    int *fds; /* sockets we put into the loop (removed on free even if libcurl forgets) */
    size_t nfds, capfds;
    struct ash_curl_loop *next;
};

/* Per-transfer completion callback, kept in CURLOPT_PRIVATE. */
struct xfer {
    ash_curl_done_fn done;
    void *arg;
};

static struct xfer *xfer_of(CURL *easy)
{
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    return (struct xfer *)(void *)priv;
}

/* All live multi handles, one per loop. Kinds run on the loop thread only. */
static struct ash_curl_loop *all_loops;

static int track_fd(struct ash_curl_loop *cl, int fd)
{
    if (ash_grow(&cl->fds, &cl->capfds, cl->nfds + 1, sizeof *cl->fds, 8) < 0)
        return -1;
    cl->fds[cl->nfds++] = fd;
    return 0;
}

static void untrack_fd(struct ash_curl_loop *cl, int fd)
{
    for (size_t i = 0; i < cl->nfds; i++)
        if (cl->fds[i] == fd) {
            cl->fds[i] = cl->fds[--cl->nfds];
            return;
        }
}

/* Deliver finished transfers. The done callback may add transfers, remove
 * others or drop the last reference: callers hold a reference around this. */
static void process_done(struct ash_curl_loop *cl)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(cl->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode result = m->data.result;
        struct xfer *x = xfer_of(easy);
        curl_multi_remove_handle(cl->multi, easy); /* m is invalid from here on */
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        if (!x)
            continue;
        struct xfer copy = *x;
        free(x);
        copy.done(easy, result, copy.arg);
    }
}

static void on_fd(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_curl_loop *cl = data;
    int flags = 0;
    if (events & EPOLLIN)
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP))
        flags |= CURL_CSELECT_ERR;
    int running;
    cl->refs++;
    curl_multi_socket_action(cl->multi, fd, flags, &running);
    process_done(cl);
    ash_curl_loop_unref(cl);
}

static int64_t on_timer(ash_loop *loop, int64_t now, void *data)
{
    struct ash_curl_loop *cl = data;
    cl->timer = NULL; /* this handle is done; libcurl may ask for a new one below */
    int running;
    cl->refs++;
    curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    process_done(cl);
    ash_curl_loop_unref(cl);
    return ASH_TIMER_DONE;
}

static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct ash_curl_loop *cl = userp;
    if (what == CURL_POLL_REMOVE) {
        if (socketp) {
            ash_loop_del_fd(cl->loop, s);
            untrack_fd(cl, s);
            curl_multi_assign(cl->multi, s, NULL);
        }
        return 0;
    }
    uint32_t ev = 0;
    if (what & CURL_POLL_IN)
        ev |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev |= EPOLLOUT;
    if (socketp)
        return ash_loop_mod_fd(cl->loop, s, ev, NULL);
    if (track_fd(cl, s) < 0)
        return -1;
    if (ash_loop_add_fd(cl->loop, s, ev, on_fd, cl, NULL) < 0) {
        untrack_fd(cl, s);
        return -1;
    }
    /* Any non-NULL pointer marks the socket as being in the loop. */
    curl_multi_assign(cl->multi, s, cl);
    return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct ash_curl_loop *cl = userp;
    if (cl->timer) {
        ash_loop_cancel_timer(cl->loop, cl->timer);
        cl->timer = NULL;
    }
    if (timeout_ms < 0)
        return 0;
    /* timeout 0 means "call me as soon as possible", but never from inside this
     * callback: a deadline of now fires on the loop's next turn. */
    cl->timer = ash_loop_add_timer(cl->loop, ash_now_ns() + (int64_t)timeout_ms * ASH_NS_PER_MS, on_timer, cl);
    return cl->timer ? 0 : -1;
}

int ash_curl_loop_ref(ash_loop *loop, ash_curl_loop **out, ash_error_t *err)
{
    for (struct ash_curl_loop *cl = all_loops; cl; cl = cl->next)
        if (cl->loop == loop) {
            cl->refs++;
            *out = cl;
            return 0;
        }
    static bool global_done;
    if (!global_done) {
        CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK)
            return ash_error(err, 0, "cannot initialise libcurl: %s", curl_easy_strerror(rc));
        global_done = true;
    }
    struct ash_curl_loop *cl = calloc(1, sizeof *cl);
    if (!cl)
        return ash_error(err, ENOMEM, "cannot allocate libcurl state");
    cl->loop = loop;
    cl->multi = curl_multi_init();
    if (!cl->multi) {
        free(cl);
        return ash_error(err, ENOMEM, "cannot create libcurl multi handle");
    }
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
    cl->refs = 1;
    cl->next = all_loops;
    all_loops = cl;
    *out = cl;
    return 0;
}

void ash_curl_loop_unref(ash_curl_loop *cl)
{
    if (!cl || --cl->refs > 0)
        return;
    for (struct ash_curl_loop **pp = &all_loops; *pp; pp = &(*pp)->next)
        if (*pp == cl) {
            *pp = cl->next;
            break;
        }
    /* Take our sockets out of the loop while they are still open, and stop
     * libcurl from calling back into freed state while it cleans up. */
    for (size_t i = 0; i < cl->nfds; i++)
        ash_loop_del_fd(cl->loop, cl->fds[i]);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, NULL);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, NULL);
    curl_multi_cleanup(cl->multi);
    if (cl->timer)
        ash_loop_cancel_timer(cl->loop, cl->timer);
    free(cl->fds);
    free(cl);
}

int ash_curl_loop_add(ash_curl_loop *cl, CURL *easy, ash_curl_done_fn done, void *arg, ash_error_t *err)
{
    struct xfer *x = malloc(sizeof *x);
    if (!x)
        return ash_error(err, ENOMEM, "cannot start HTTP request");
    *x = (struct xfer){.done = done, .arg = arg};
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x);
    CURLMcode mc = curl_multi_add_handle(cl->multi, easy);
    if (mc != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(x);
        return ash_error(err, 0, "cannot start HTTP request: %s", curl_multi_strerror(mc));
    }
    return 0;
}

void ash_curl_loop_remove(ash_curl_loop *cl, CURL *easy)
{
    struct xfer *x = xfer_of(easy);
    curl_multi_remove_handle(cl->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    free(x);
}
