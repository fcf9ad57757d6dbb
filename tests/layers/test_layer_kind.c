/* One fault kind alone (src/faults/process.c): parsed with a kind set holding
 * only it, injected and reverted through struct ash_ctx, linked with ctx, env,
 * scenario and sys and nothing else: no registry, no engine, no other kind. This
 * is what a fleet agent (or a new kind's own test) builds on. */
#include "kinds.h"
#include "scenario/scenario.h"
#include "sys/journal.h"
#include "test_proc.h"
#include "../unit/test_run.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern const struct ash_fault_kind ash_fault_process;

static const struct ash_probe_kind probe = {.c = {.name = "noop", .summary = "a probe kind for this test"}};
static const struct ash_fault_kind *const faults[] = {&ash_fault_process, NULL};
static const struct ash_probe_kind *const probes[] = {&probe, NULL};
static const struct ash_detector_kind *const detectors[] = {NULL};
static const struct ash_action_kind *const actions[] = {NULL};
static const struct ash_kind_set kinds = {faults, probes, detectors, actions};

START_TEST(test_process_kind_stops_and_continues)
{
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        for (;;)
            pause();
    }
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "version: 1\nname: t\nprobes:\n  - name: p\n    noop: {}\n"
             "faults:\n  - name: f\n    kind: process\n    target: process:pid=%d\n    action: stop\n",
             (int)child);
    struct ash_scenario *sc;
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string_with("s.yaml", yaml, strlen(yaml), &kinds, &sc, &err) == 0, "%s", err.msg);
    char dir[] = "/tmp/ash-layer-kind-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct ash_journal *j;
    ck_assert_msg(ash_journal_open(dir, "layer", &j, &err) == 0, "%s", err.msg);
    struct ash_ctx ctx = {.journal = j, .scenario = sc, .run_id = "layer", .state_dir = dir};
    const struct ash_fault_spec *f = &sc->faults[0];
    void *state = NULL;
    ck_assert_msg(f->kind->inject(&ctx, f, &state, &err) == 0, "%s", err.msg);
    /* A signal is delivered when the child is next scheduled: wait for it (1 s at most). */
    for (int i = 0; i < 1000 && ash_test_proc_state(child) != 'T'; i++)
        usleep(1000);
    ck_assert_int_eq(ash_test_proc_state(child), 'T');
    ck_assert_uint_eq(ash_journal_pending(j), 1); /* the SIGCONT, journalled before the stop */
    ck_assert_msg(f->kind->revert(&ctx, f, state, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 1000 && ash_test_proc_state(child) == 'T'; i++)
        usleep(1000);
    ck_assert_int_ne(ash_test_proc_state(child), 'T');
    ck_assert_uint_eq(ash_journal_pending(j), 0);
    ash_journal_close(j, true);
    ck_assert_int_eq(rmdir(dir), 0);
    ash_scenario_free(sc);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}
END_TEST

/* ash_ctx_fail (issue 13): what a kind cannot go on without reaches the engine's
 * fail hook (which aborts the run); with none, the timeline as an "error" event. */
static char said[600];

static void on_fail(struct ash_ctx *ctx, const char *why)
{
    (void)ctx;
    snprintf(said, sizeof said, "fail: %s", why);
}

static void on_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    (void)ctx, (void)t;
    snprintf(said, sizeof said, "%s: %s", event, detail);
}

START_TEST(test_ctx_fail_reaches_the_engine)
{
    struct ash_ctx ctx = {.event = on_event, .fail = on_fail};
    ash_ctx_fail(&ctx, "no timer for %s", "the log");
    ck_assert_str_eq(said, "fail: no timer for the log");
    ctx.fail = NULL;
    ash_ctx_fail(&ctx, "no timer for %s", "the log");
    ck_assert_str_eq(said, "error: no timer for the log");
    ash_ctx_fail(NULL, "nobody listens"); /* a kind without a ctx: nothing to tell, no crash */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer_kind");
    TCase *tc = tcase_create("process");
    tcase_add_test(tc, test_process_kind_stops_and_continues);
    tcase_add_test(tc, test_ctx_fail_reaches_the_engine);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
