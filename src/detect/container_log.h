/* A container's log stream, followed through the engine's API inside the event loop. */
#ifndef ASH_DETECT_CONTAINER_LOG_H
#define ASH_DETECT_CONTAINER_LOG_H

#include "kinds.h"

struct ash_clog;

/* Each complete line (without its newline and the engine's stamp), the engine's stamp
 * on CLOCK_MONOTONIC (when dockerd read the line; its arrival when the line carried
 * none), and when it arrived here (CLOCK_MONOTONIC ns). */
typedef void (*ash_clog_line_fn)(void *arg, const char *line, int64_t t, int64_t arrived);

/* Follow ref's stdout and stderr from now on (GET /containers/ID/logs?follow=1&timestamps=1, the
 * multiplexed framing taken apart unless it has a tty), non-blocking on ctx->loop. */
int ash_clog_start(struct ash_ctx *ctx, const struct ash_target_ref *ref, ash_clog_line_fn fn, void *arg,
                   struct ash_clog **out, ash_error_t *err);
void ash_clog_stop(struct ash_clog *l);

#endif
