/* Detector `webhook`: admission control for the receiver's connections, so a flood cannot starve the real alert. */
#ifndef ASH_DETECT_WEBHOOK_GUARD_H
#define ASH_DETECT_WEBHOOK_GUARD_H

#include "sys/loop.h"

#include <microhttpd.h>
#include <stdint.h>

struct ash_wh_limits {
    unsigned max_connections;   /* open at once, all clients together */
    unsigned per_client;        /* open at once from one source address */
    unsigned reserve;           /* kept free for new clients: beyond max - reserve the oldest is evicted */
    int64_t request_timeout_ns; /* a whole request (headers and body) must be in within this */
};

struct ash_wh_guard_hooks {
    /* Let libmicrohttpd process what is ready (after connections were added or shut down). */
    void (*run_http)(void *arg);
    /* Connections were shed or refused: one line of counts, at most once a second. */
    void (*saturated)(void *arg, int64_t t, const char *summary);
    /* A timer the guard cannot work without could not be made (no memory): a flood
     * could then starve the real alert unseen, so the run must stop, saying why. */
    void (*failed)(void *arg, const char *why);
    void *arg;
};

struct ash_wh_guard;

/* The guard owns listen_fd from here on (closed by ash_wh_guard_free, also on failure). */
int ash_wh_guard_new(struct ash_wh_guard **out, ash_loop *loop, int listen_fd, const struct ash_wh_limits *lim,
                     const struct ash_wh_guard_hooks *hooks, ash_error_t *err);
/* The daemon was started with MHD_USE_NO_LISTEN_SOCKET, MHD_OPTION_NOTIFY_CONNECTION
 * (ash_wh_guard_notify, the guard) and MHD_OPTION_CONNECTION_LIMIT
 * ash_wh_guard_mhd_limit(): start accepting. */
int ash_wh_guard_attach(struct ash_wh_guard *g, struct MHD_Daemon *mhd, ash_error_t *err);
unsigned ash_wh_guard_mhd_limit(const struct ash_wh_limits *lim);
/* Report counts not yet reported (before MHD_stop_daemon: the run is still recording). */
void ash_wh_guard_flush(struct ash_wh_guard *g);
/* After MHD_stop_daemon (which closes every connection through the notify callback). */
void ash_wh_guard_free(struct ash_wh_guard *g);

void ash_wh_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                         enum MHD_ConnectionNotificationCode code);
/* The whole request is in: it is being answered, no deadline applies and it is never evicted. */
void ash_wh_guard_request_in(struct MHD_Connection *c);
/* Its answer is done: a kept-alive connection starts a new request window. */
void ash_wh_guard_request_done(struct MHD_Connection *c);

#endif
