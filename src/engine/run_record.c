/* A finished run as plain records (engine/run_record.h): the one place that reads the
 * runner's live state (struct run) for the report, so run_json.c needs none of it. */
#include "engine/run_record.h"
#include "engine/fleet_run.h"
#include "engine/run_int.h"

#include <stdlib.h>

int ash_run_record_fill(const struct run *r, struct ash_run_record *rec)
{
    const struct ash_scenario *sc = r->sc;
    *rec = (struct ash_run_record){.sc = sc,
                                   .index = r->cfg->index,
                                   .run_id = r->cfg->run_id,
                                   .wall_start = r->wall_start,
                                   .t_start = r->t_start,
                                   .t_inject = r->t_inject,
                                   .t_last_revert = r->t_last_revert,
                                   .t_end = r->t_end,
                                   .t_observed = r->t_observed,
                                   .t_unfinished = r->t_unfinished,
                                   .first_detect = r->first_detect,
                                   .first_detect_fired = r->first_detect_fired,
                                   .detected_by = r->detected_by,
                                   .events = r->events,
                                   .n_events = r->n_events,
                                   .detections = r->detections,
                                   .n_det = r->n_det,
                                   .alerts = r->alerts,
                                   .n_alerts = r->n_alerts,
                                   .late_ticks = r->late_ticks,
                                   .n_late_kept = r->n_late_kept,
                                   .n_late_ticks = r->n_late_ticks,
                                   .guard_spec = r->guard_spec,
                                   .guard_why = r->guard_why,
                                   .guard_true = r->guard_true,
                                   .t_reverted_all = r->t_reverted_all,
                                   .verify = r->verify,
                                   .known_until = ash_fleet_run_known_until(r->fleet),
                                   .clock_bound = ash_fleet_run_bound(r->fleet),
                                   .inject_held = r->inject_held};
    struct ash_probe_record *probes = calloc(sc->n_probes + 1, sizeof *probes);
    struct ash_fault_record *faults = calloc(sc->n_faults + 1, sizeof *faults);
    struct ash_remediation_record *rems = calloc(sc->n_remediations + 1, sizeof *rems);
    rec->probes = probes;
    rec->faults = faults;
    rec->remediations = rems;
    if (!probes || !faults || !rems) {
        ash_run_record_free(rec);
        return -1;
    }
    for (size_t i = 0; i < sc->n_probes; i++) {
        const struct probe_rt *p = &r->probes[i];
        probes[i] = (struct ash_probe_record){.spec = p->spec,
                                              .samples = p->samples,
                                              .n = p->n,
                                              .slow_ns = p->slow_ns,
                                              .slow_source = p->slow_source,
                                              .warmup_p99 = p->warmup_p99,
                                              .late = p->late,
                                              .n_late = p->n_late};
    }
    for (size_t i = 0; i < sc->n_faults; i++) {
        const struct fault_rt *f = &r->faults[i];
        faults[i] = (struct ash_fault_record){.spec = f->spec,
                                              .injected = f->injected,
                                              .reverted = f->reverted,
                                              .failed = f->failed,
                                              .revert_failed = f->revert_failed,
                                              .one_shot = f->one_shot,
                                              .scheduled = f->scheduled,
                                              .injected_at = f->injected_at,
                                              .reverted_at = f->reverted_at,
                                              .error = f->error,
                                              .no_effect = f->no_effect,
                                              .targets = f->targets};
    }
    for (size_t i = 0; i < sc->n_remediations; i++) {
        const struct rem_rt *m = &r->rems[i];
        rems[i] = (struct ash_remediation_record){
            .spec = m->spec, .done = m->done, .ok = m->ok, .at = m->at, .error = m->error};
    }
    if (r->fleet) {
        rec->fleet = ash_fleet_run_json(r->fleet, r->t_start);
        rec->fleet_lateness = ash_fleet_run_lateness_json(r->fleet);
    }
    return 0;
}

void ash_run_record_free(struct ash_run_record *rec)
{
    free(rec->probes);
    free(rec->faults);
    free(rec->remediations);
    json_decref(rec->fleet);
    json_decref(rec->fleet_lateness);
    *rec = (struct ash_run_record){0};
}
