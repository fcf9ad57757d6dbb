/* src/scenario alone: the parser knows only the kinds it is given (here one stub
 * fault kind), and links with src/sys and no kind, registry or engine. */
#include "kinds.h"
#include "scenario/scenario.h"
#include "../unit/test_run.h"

#include <check.h>
#include <stddef.h>
#include <string.h>

struct stub_conf {
    long long level;
};

static const struct ash_field stub_fields[] = {
    {"level", ASH_F_INT, offsetof(struct stub_conf, level), ASH_FIELD_REQUIRED, "how hard", .min = 1, .max = 9},
    {NULL}};

static const struct ash_fault_kind stub = {.c = {.name = "stub",
                                                 .summary = "a fault kind known only to this test",
                                                 .fields = stub_fields,
                                                 .conf_size = sizeof(struct stub_conf)}};
static const struct ash_probe_kind probe = {.c = {.name = "noop", .summary = "a probe kind for this test"}};
static const struct ash_fault_kind *const faults[] = {&stub, NULL};
static const struct ash_probe_kind *const probes[] = {&probe, NULL};
static const struct ash_detector_kind *const detectors[] = {NULL};
static const struct ash_action_kind *const actions[] = {NULL};
static const struct ash_kind_set kinds = {faults, probes, detectors, actions};

#define HEAD "version: 1\nname: t\nprobes:\n  - name: p\n    noop: {}\n"

static int load(const char *text, struct ash_scenario **sc, ash_error_t *err)
{
    memset(err, 0, sizeof *err);
    return ash_scenario_load_string_with("s.yaml", text, strlen(text), &kinds, sc, err);
}

START_TEST(test_parses_with_the_kinds_it_is_given)
{
    struct ash_scenario *sc;
    ash_error_t err;
    ck_assert_msg(load(HEAD "faults:\n  - name: f\n    kind: stub\n    level: 3\n", &sc, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(sc->n_faults, 1);
    ck_assert_ptr_eq(sc->faults[0].kind, &stub);
    ck_assert_int_eq(((struct stub_conf *)sc->faults[0].conf)->level, 3);
    ash_scenario_free(sc);

    /* A kind the set lacks is unknown, and the message lists this set's kinds only. */
    ck_assert_int_eq(load(HEAD "faults:\n  - name: f\n    kind: network\n", &sc, &err), -1);
    ck_assert_msg(strstr(err.msg, "s.yaml:8:11: unknown fault kind 'network' (known kinds: stub)"), "%s", err.msg);
    ck_assert_int_eq(load(HEAD "faults:\n  - name: f\n    kind: stub\n    level: 12\n", &sc, &err), -1);
    ck_assert_msg(strstr(err.msg, "s.yaml:9:12:"), "%s", err.msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer_scenario");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_parses_with_the_kinds_it_is_given);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
