/* The run's preflight: targets of what already runs resolved, and what each fault needs
 * of them checked, all of them, before anything starts. */
#include "engine/preflight.h"
#include "env/target.h"
#include "kinds.h"
#include "scenario/scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct visit {
    const struct ash_fault_spec *fault; /* NULL: a remediation's or a probe's target */
    json_t *targets;                    /* identities of what resolved */
};

/* Each resolved target: kept for what validate --resolve and plan show, then asked
 * what the fault needs of it (kinds.h, preflight). */
static int visit_target(const struct ash_target *t, void *arg, ash_error_t *err)
{
    struct visit *v = arg;
    json_t *id = ash_target_identity(t);
    if (!id || json_array_append_new(v->targets, id) < 0)
        return ash_error(err, ENOMEM, "preflight");
    if (v->fault && v->fault->kind && v->fault->kind->preflight)
        return v->fault->kind->preflight(v->fault, t, err);
    return 0;
}

static int add_problem(json_t *problems, const struct ash_loc *loc, const char *what, const char *name,
                       const char *prefix, const char *msg)
{
    json_t *s = json_sprintf("%s:%d:%d: %s '%s': %s%s", loc->file ? loc->file : "<scenario>", loc->line, loc->col, what,
                             name, prefix, msg);
    return s && json_array_append_new(problems, s) == 0 ? 0 : -1;
}

static int add_resolved(json_t *resolved, const struct ash_loc *loc, const char *what, const char *name,
                        json_t *targets)
{
    if (!resolved || json_array_size(targets) == 0)
        return 0;
    json_t *text = json_array();
    size_t i;
    json_t *id;
    json_array_foreach(targets, i, id)
    {
        char buf[400];
        json_array_append_new(text, json_string(ash_target_identity_text(id, buf, sizeof buf)));
    }
    json_t *o = json_pack("{s:s+++, s:s, s:i, s:i, s:O, s:o}", "item", what, " '", name, "'", "file",
                          loc->file ? loc->file : "<scenario>", "line", loc->line, "col", loc->col, "targets", targets,
                          "described", text);
    return o && json_array_append_new(resolved, o) == 0 ? 0 : -1;
}

/* One ref: looked up, then visited; a problem is appended, never returned. */
static int check_ref(const struct ash_target_ref *ref, unsigned needs, const struct ash_fault_spec *f, const char *what,
                     const char *name, const char *prefix, json_t *problems, json_t *resolved)
{
    struct visit v = {.fault = f, .targets = json_array()};
    if (!v.targets)
        return -1;
    ash_error_t e = {0};
    int ret = 0;
    if (ash_target_check_with(ref, needs, visit_target, &v, &e) < 0)
        ret = add_problem(problems, &ref->loc, what, name, prefix, e.msg);
    else
        ret = add_resolved(resolved, &ref->loc, what, name, v.targets);
    json_decref(v.targets);
    return ret;
}

/* One item's targets that select what already runs. */
static int check_item(const struct ash_field *fields, const void *conf, const struct ash_fault_spec *f,
                      const char *what, const char *name, json_t *problems, json_t *resolved)
{
    for (const struct ash_field *fl = fields; fl && fl->key; fl++) {
        if (fl->type != ASH_F_TARGET || (fl->flags & ASH_FIELD_DEPRECATED))
            continue;
        const struct ash_target_ref *ref = (const void *)((const char *)conf + fl->offset);
        /* fleet: a target on a node (or a swarm service's tasks, a selector's pods) is
         * looked up there, by its agent, when it takes the scenario. */
        if (!ref->name || ref->type < ASH_TARGET_CONTAINER || ref->node || ref->swarm || ref->kube)
            continue;
        if (check_ref(ref, fl->needs, f, what, name, "", problems, resolved) < 0)
            return -1;
    }
    return 0;
}

int ash_preflight(const struct ash_scenario *sc, json_t *problems, json_t *resolved, ash_error_t *err)
{
    for (size_t i = 0; i < sc->n_faults; i++) {
        const struct ash_fault_spec *f = &sc->faults[i];
        if (check_item(f->kind ? f->kind->c.fields : NULL, f->conf, f, "fault", f->name, problems, resolved) < 0)
            return ash_error(err, ENOMEM, "preflight");
    }
    for (size_t i = 0; i < sc->n_remediations; i++) {
        const struct ash_remediation_spec *r = &sc->remediations[i];
        if (check_item(r->action ? r->action->c.fields : NULL, r->conf, NULL, "remediation", r->name, problems,
                       resolved) < 0)
            return ash_error(err, ENOMEM, "preflight");
    }
    /* A probe `from: container:NAME` samples inside its network namespace. */
    for (size_t i = 0; i < sc->n_probes; i++) {
        const struct ash_probe_spec *p = &sc->probes[i];
        char msg[300];
        struct ash_target_ref ref = {0};
        if (!p->from || (strncmp(p->from, "container:", 10) != 0 && strncmp(p->from, "process:", 8) != 0) ||
            ash_target_ref_parse(p->from, &ref, msg, sizeof msg) < 0)
            continue;                                      /* a host, or a form validate already refused */
        ref.loc = p->from_loc.line ? p->from_loc : p->loc; /* the value's line:column, not the probe's */
        int r = 0;
        if (sc->runtime.docker_host && !(ref.endpoint = strdup(sc->runtime.docker_host)))
            r = -1;
        if (r == 0)
            r = check_ref(&ref, ASH_CAP_NETNS, NULL, "probe", p->name, "from: ", problems, resolved);
        ash_target_ref_clear(&ref);
        if (r < 0)
            return ash_error(err, ENOMEM, "preflight");
    }
    return 0;
}

int ash_preflight_check(const struct ash_scenario *sc, json_t *resolved, ash_error_t *err)
{
    json_t *problems = json_array();
    if (!problems)
        return ash_error(err, ENOMEM, "preflight");
    int ret = ash_preflight(sc, problems, resolved, err);
    size_t n = json_array_size(problems);
    if (ret == 0 && n) {
        /* Every problem, one a line: fixing one and running again to meet the next is
         * what a first-time user should not have to do. */
        char msg[ASH_ERROR_MSG_MAX] = "";
        size_t off = 0, i;
        json_t *p;
        json_array_foreach(problems, i, p)
        {
            int w = off < sizeof msg
                        ? snprintf(msg + off, sizeof msg - off, "%s%s", i ? "\n" : "", json_string_value(p))
                        : 0;
            off += w > 0 ? (size_t)w : 0;
        }
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "%s", msg);
    }
    json_decref(problems);
    return ret;
}
