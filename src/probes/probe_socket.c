/* Probe origins: sockets made inside a sandbox host's or a container's netns, commands
 * entered there (names are resolved in probe_resolve.c). */
#include "probes/probe_socket.h"
#include "env/sandbox.h"
#include "env/target.h"
#include "probes/probe_from.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int container_origin(struct ash_ctx *ctx, const struct ash_probe_spec *p, struct ash_probe_from *f,
                            ash_error_t *err)
{
    char msg[300];
    struct ash_target_ref ref = {0};
    if (ash_target_ref_parse(p->from, &ref, msg, sizeof msg) < 0)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "probe '%s': from: %s", p->name, msg);
    if (ctx && ctx->scenario && ctx->scenario->runtime.docker_host)
        ref.endpoint = strdup(ctx->scenario->runtime.docker_host);
    int r = ash_ctx_target(ctx, &ref, &f->t, err);
    ash_target_ref_clear(&ref);
    if (r < 0)
        return ash_error_wrap(err, "probe '%s'", p->name);
    f->nsfd = ash_target_netns_fd(&f->t);
    json_t *id = ash_target_identity(&f->t);
    f->pid = (int)json_integer_value(json_object_get(id, "pid"));
    json_decref(id);
    if (f->nsfd < 0 || f->pid <= 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP,
                               "probe '%s': from: %s has no network namespace of its own (it shares the "
                               "machine's: leave 'from' out)",
                               p->name, p->from);
    return 0;
}

int ash_probe_origin(struct ash_ctx *ctx, const struct ash_probe_spec *p, struct ash_probe_from **out, ash_error_t *err)
{
    *out = NULL;
    if (!p->from)
        return 0;
    struct ash_probe_from *f = calloc(1, sizeof *f);
    if (!f)
        return ash_error(err, ENOMEM, "probe '%s'", p->name);
    f->nsfd = -1;
    if (ash_probe_from_is_target(p->from)) {
        if (container_origin(ctx, p, f, err) < 0) {
            ash_probe_from_free(f);
            return -1;
        }
        *out = f;
        return 0;
    }
    if (!ctx || !ctx->sandbox) {
        free(f);
        return ash_error_class(err, ASH_ERR_USAGE, 0,
                               "probe '%s': 'from: %s' needs sandbox hosts; this run has none (remove 'from:' "
                               "to probe from the harness)",
                               p->name, p->from);
    }
    struct ash_host *h = ash_sandbox_host(ctx->sandbox, p->from);
    if (!h) {
        free(f);
        return ash_error_class(err, ASH_ERR_USAGE, 0, "probe '%s': 'from: %s' is not a host of this run", p->name,
                               p->from);
    }
    f->host = h;
    *out = f;
    return 0;
}

void ash_probe_from_free(struct ash_probe_from *from)
{
    if (!from)
        return;
    ash_target_release(&from->t);
    free(from);
}

const char *ash_probe_from_etc(const struct ash_probe_from *from, char *buf, size_t len)
{
    if (!from)
        snprintf(buf, len, "/etc");
    else if (from->host)
        snprintf(buf, len, "%s", ash_host_etc_dir(from->host));
    else
        snprintf(buf, len, "/proc/%d/root/etc", from->pid);
    return buf;
}

struct socket_args {
    int domain, type, protocol;
};

static int make_socket(void *arg)
{
    struct socket_args *a = arg;
    return socket(a->domain, a->type | SOCK_CLOEXEC, a->protocol);
}

int ash_probe_socket(const struct ash_probe_from *from, int domain, int type, int protocol)
{
    struct socket_args a = {domain, type, protocol};
    if (!from)
        return make_socket(&a);
    if (from->host)
        return ash_host_run_in_netns(from->host, make_socket, &a);
    return ash_target_run_in_netns(&from->t, make_socket, &a, NULL);
}

int ash_probe_enter_host(void *arg)
{
    const struct ash_probe_from *from = arg;
    if (from->host)
        return ash_host_enter(from->host);
    return setns(from->nsfd, CLONE_NEWNET);
}
