/* Detector `log`: a POSIX extended regular expression matching a line of a
 * service's output (detection time: when the line was read from the pty), or of a
 * container's log stream from the engine (the engine's own stamp of the line, when
 * dockerd read it: container_log.c). */
#include "kinds.h"
#include "detect/container_log.h"
#include "env/target.h"
#include "sys/clock.h"

#include <stdio.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct log_conf {
    char *service;
    char *container;
    char *match;
};

static const struct ash_field log_fields[] = {
    {"service", ASH_F_STRING, offsetof(struct log_conf, service), 0,
     "service whose stdout/stderr is read (HOST/SERVICE or SERVICE)"},
    {"container", ASH_F_STRING, offsetof(struct log_conf, container), 0,
     "or a running container (NAME, ID or label=K=V) whose log stream is read through the engine's API (a "
     "line's time: the engine's own stamp on it)"},
    {"match", ASH_F_STRING, offsetof(struct log_conf, match), ASH_FIELD_REQUIRED, "POSIX extended regular expression"},
    {NULL}};

static int log_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct log_conf *c = conf;
    if (!c->service == !c->container)
        return ash_node_fail(node, err, "say whose output to read: 'service: NAME' or 'container: NAME' (one of them)");
    if (c->container) {
        char msg[300];
        if (ash_target_selector_check(ASH_TARGET_CONTAINER, c->container, msg, sizeof msg) < 0) {
            ash_node v = ash_map_get(node, "container");
            return ash_node_fail(&v, err, "container: %s", msg);
        }
    } else if (!ash_scenario_service(sc, c->service)) {
        ash_node v = ash_map_get(node, "service");
        return ash_node_fail(&v, err, "no service named '%s' in this scenario", c->service);
    }
    regex_t re;
    int rc = regcomp(&re, c->match, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[200];
        regerror(rc, &re, msg, sizeof msg);
        ash_node v = ash_map_get(node, "match");
        return ash_node_fail(&v, err, "invalid regular expression: %s", msg);
    }
    regfree(&re);
    return 0;
}

struct log_state {
    regex_t re;
    const char *service;   /* bare service name */
    struct ash_clog *clog; /* container: its stream */
    struct ash_ctx *ctx;
    const struct ash_detector_spec *d;
    const char *container;
};

static void container_line(void *arg, const char *line, int64_t t, int64_t arrived)
{
    struct log_state *st = arg;
    if (regexec(&st->re, line, 0, NULL, 0) == 0) {
        char detail[200];
        /* The time is the engine's stamp; how much later the line reached the run is
         * kept beside it (a busy engine or a late loop shows there, not in TTD). */
        snprintf(detail, sizeof detail, "container %s (engine's stamp; arrived %.1f ms later): %s", st->container,
                 ash_ns_to_ms(arrived - t), line);
        st->ctx->detect(st->ctx, st->d, t, detail);
    }
}

static int log_start(struct ash_ctx *ctx, const struct ash_detector_spec *d, void **state, ash_error_t *err)
{
    const struct log_conf *c = d->conf;
    struct log_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "detector");
    if (regcomp(&st->re, c->match, REG_EXTENDED | REG_NOSUB) != 0) {
        free(st);
        return ash_error(err, EINVAL, "invalid regular expression '%s'", c->match);
    }
    st->ctx = ctx;
    st->d = d;
    if (c->container) {
        struct ash_target_ref ref = {.type = ASH_TARGET_CONTAINER, .name = c->container};
        if (ctx->scenario)
            ref.endpoint = ctx->scenario->runtime.docker_host;
        st->container = c->container;
        if (ash_clog_start(ctx, &ref, container_line, st, &st->clog, err) < 0) {
            regfree(&st->re);
            free(st);
            return -1;
        }
        *state = st;
        return 0;
    }
    const char *slash = strchr(c->service, '/');
    st->service = slash ? slash + 1 : c->service;
    *state = st;
    return 0;
}

static void log_stop(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state)
{
    struct log_state *st = state;
    if (st) {
        ash_clog_stop(st->clog);
        regfree(&st->re);
        free(st);
    }
}

static void log_line(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state, const char *service,
                     const char *line, int64_t t)
{
    struct log_state *st = state;
    if (st->service && strcmp(service, st->service) == 0 && regexec(&st->re, line, 0, NULL, 0) == 0) {
        char detail[200];
        snprintf(detail, sizeof detail, "%s: %s", service, line);
        ctx->detect(ctx, d, t, detail);
    }
}

const struct ash_detector_kind ash_detector_log = {
    .c = {.name = "log",
          .summary = "a service's output line, or a container's log line, matches a regular expression",
          .fields = log_fields,
          .conf_size = sizeof(struct log_conf),
          .validate = log_validate},
    .start = log_start,
    .stop = log_stop,
    .on_log = log_line,
};
