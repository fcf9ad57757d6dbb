/* Known answer for a DNS fault under a service that caches lookups: the
 * recovery after the DNS fault is reverted is set by the service's cache TTL,
 * not by the revert. peerd on sandbox host `app` resolves `backend` through
 * the run's DNS server and keeps each answer --cache-ttl seconds; a dns fault
 * (wrong-address, only for app's queries) waits for its cache to expire, so
 * peerd caches the wrong address; the probes detector sees /healthz fail and
 * the fault is reverted at once, yet peerd keeps failing until the cached
 * wrong answer expires. Run with TTL 1 s and 3 s: revert-to-recover is
 * TTL - (revert - outage start), and the two runs differ by 2 s. Needs root. */
#include <aftershock/aftershock.h>

#include <check.h>

#include "test_util.h"
#include "test_run.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The bounds, derived (all in ms):
 *  - peerd checks its peer every CHECK_MS after the previous check ended; a
 *    check against the wrong address (a host with nothing listening: refused)
 *    or the right one takes under CHECK_COST_MS, so its cache is re-resolved
 *    at the first check starting at or after cached_at + TTL, i.e. between
 *    TTL and TTL + CHECK_MS + CHECK_COST_MS after it cached the wrong answer.
 *  - /healthz reflects the last check; the probe samples it every PROBE_MS,
 *    so the first failed sample (impact) starts within PROBE_MS after the
 *    wrong answer was cached, and the first healthy one within PROBE_MS after
 *    the good check.
 *  - SLACK_MS covers a sample reading state a fraction of a millisecond after
 *    it starts across a veth and bridge (as in test_host_crash), plus the
 *    resolution and the connect inside the check.
 * So outage = recovery - impact lies in
 *   [TTL - PROBE_MS - SLACK_MS, TTL + CHECK_MS + CHECK_COST_MS + PROBE_MS + SLACK_MS]. */
#define PROBE_MS 20
#define CHECK_MS 20
#define CHECK_COST_MS 5
#define SLACK_MS 3.0

static char tmpdir[256];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_number(v), "%s is not a number", k);
    return json_number_value(v);
}

/* t_ms of the fault's revert, from the faults array. */
static double reverted_ms(json_t *run)
{
    json_t *f = json_array_get(json_object_get(run, "faults"), 0);
    ck_assert_ptr_nonnull(f);
    return num(f, "reverted_ms");
}

static json_t *run_ttl(int ttl_s)
{
    char scen[600], text[4096], run_dir[600], state_dir[600];
    snprintf(scen, sizeof scen, "%s/ttl%d.yaml", tmpdir, ttl_s);
    snprintf(run_dir, sizeof run_dir, "%s/run-ttl%d", tmpdir, ttl_s);
    /* The run's journal goes to the guard's directory: besides the run's own
     * guardian, the runner-side teardown recovers it if this test dies. */
    snprintf(state_dir, sizeof state_dir, "%s", ash_test_journal_dir);
    snprintf(text, sizeof text,
             "version: 1\n"
             "name: dns-cache-ttl-known-answer\n"
             "hosts:\n"
             "  - name: backend\n"
             "    services:\n"
             "      - name: leaf\n"
             "        command: [\"%s/services/peerd\", \"--name\", \"leaf\", \"--port\", \"8080\"]\n"
             "        ready: { tcp: \"127.0.0.1:8080\" }\n"
             "  - name: app\n"
             "    services:\n"
             "      - name: cacher\n"
             "        command: [\"%s/services/peerd\", \"--name\", \"cacher\", \"--port\", \"8080\",\n"
             "                  \"--peer\", \"backend:8080\", \"--cache-ttl\", \"%d\", \"--interval\", \"%d\",\n"
             "                  \"--budget\", \"100\"]\n"
             "        ready: { http: \"http://127.0.0.1:8080/healthz\" }\n"
             "        depends_on: [leaf]\n"
             "  - name: client\n"
             "probes:\n"
             "  - name: app-health\n"
             "    from: client\n"
             "    http: { url: \"http://app:8080/healthz\" }\n"
             "    every: %dms\n"
             "    timeout: 200ms\n"
             "detectors:\n"
             "  - name: health\n"
             "    probes: { consecutive_failures: 1 }\n"
             "faults:\n"
             "  - name: misresolve\n"
             "    kind: dns\n"
             "    at: 0s\n"
             "    names: [backend]\n"
             "    clients: [app]\n"
             "    answer: wrong-address\n"
             "    to: client\n"
             "    until: remediated\n"
             "remediation:\n"
             "  - name: fix-dns\n"
             "    when: detected\n"
             "    action: { revert: misresolve }\n"
             "expect:\n"
             "  warmup: 300ms\n"
             "  stable_for: 300ms\n"
             "  timeout: 20s\n",
             ash_test_build_dir(), ash_test_build_dir(), ttl_s, CHECK_MS, PROBE_MS);
    write_file(scen, text);
    struct ash_run_options o = ash_test_run_options(run_dir, state_dir);
    struct ash_run_result res;
    ash_error_t err = {0};
    ck_assert_msg(ash_run_file(scen, &o, &res, &err) == 0, "run failed: %s", err.msg);
    json_t *run = json_incref(json_array_get(json_object_get(res.report, "runs"), 0));
    const char *e = json_string_value(json_object_get(run, "error"));
    ck_assert_msg(strcmp(json_string_value(json_object_get(run, "verdict")), "pass") == 0, "verdict %s: %s",
                  json_string_value(json_object_get(run, "verdict")), e ? e : "");
    json_decref(res.report);
    return run;
}

static bool can_run(void)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (sandbox hosts)");
        return false;
    }
    char peerd[600];
    snprintf(peerd, sizeof peerd, "%s/services/peerd", ash_test_build_dir());
    ck_assert_msg(access(peerd, X_OK) == 0, "%s not built", peerd);
    return true;
}

struct figures {
    double outage, r2r, revert_after_impact;
};

static struct figures check_ttl(int ttl_s)
{
    json_t *run = run_ttl(ttl_s);
    double ttl = ttl_s * 1000.0;
    double impact = num(run, "impact_ms"), ttr = num(run, "ttr_ms"), r2r = num(run, "revert_to_recover_ms");
    double t_inject = num(run, "t_inject_ms");
    double revert = reverted_ms(run) - t_inject; /* from the inject, like impact and ttr */
    /* Stated resolutions: impact one interval; TTR the interval plus the slow
     * threshold (at most the 200 ms timeout); the probes detector the
     * interval plus the timeout (a failure is known when its sample ends). */
    json_t *resn = json_object_get(run, "resolution");
    double slow_ms = num(json_array_get(json_object_get(run, "probes"), 0), "slow_ms");
    ck_assert_double_eq_tol(num(resn, "impact_ms"), PROBE_MS, 1e-9);
    ck_assert_double_eq_tol(num(resn, "ttr_ms"), PROBE_MS + (slow_ms < 200 ? slow_ms : 200), 1e-9);
    ck_assert_double_eq_tol(num(resn, "ttd_ms"), PROBE_MS + 200, 1e-9);
    struct figures fg = {.outage = ttr - impact, .r2r = r2r, .revert_after_impact = revert - impact};
    printf("dns ttl %d s: impact %.3f ms (peerd's cache expired into the fault), revert %.3f ms, ttr %.3f ms, "
           "outage %.3f ms, revert to recover %.3f ms\n",
           ttl_s, impact, revert, ttr, fg.outage, r2r);
    /* The fault waits for the cache to expire: the outage starts within one TTL. */
    ck_assert_msg(impact >= -SLACK_MS && impact <= ttl + CHECK_MS + CHECK_COST_MS + PROBE_MS + SLACK_MS,
                  "impact %.3f ms with a %d s cache", impact, ttl_s);
    /* Reverted on the first failed sample (consecutive_failures: 1), when its
     * answer came back: at most its 200 ms timeout after it was sent (the
     * impact), plus the in-process revert of the run's DNS server (under
     * SLACK_MS). Long before the cache expires. */
    ck_assert_msg(fg.revert_after_impact >= 0 && fg.revert_after_impact <= 200 + SLACK_MS,
                  "revert %.3f ms after the impact", fg.revert_after_impact);
    double lo = ttl - PROBE_MS - SLACK_MS, hi = ttl + CHECK_MS + CHECK_COST_MS + PROBE_MS + SLACK_MS;
    ck_assert_msg(fg.outage >= lo && fg.outage <= hi, "outage %.3f ms, expected [%.1f, %.1f] for a %d s cache",
                  fg.outage, lo, hi, ttl_s);
    /* The revert did not end it: the cached wrong answer did, TTL after it was cached. */
    double r2r_truth = ttl - fg.revert_after_impact;
    ck_assert_msg(r2r >= r2r_truth - PROBE_MS - SLACK_MS &&
                      r2r <= r2r_truth + CHECK_MS + CHECK_COST_MS + PROBE_MS + SLACK_MS,
                  "revert to recover %.3f ms, expected %.3f (TTL - revert after impact)", r2r, r2r_truth);
    json_decref(run);
    return fg;
}

START_TEST(recovery_tracks_cache_ttl)
{
    if (!can_run())
        return;
    struct figures one = check_ttl(1), three = check_ttl(3);
    /* Same fault, same revert, 2 s more cache: 2 s more to recover after the revert.
     * Each run's r2r is off its truth by at most the bounds above, so the difference
     * is within the sum of both sides plus the two revert delays' difference. */
    double diff = (three.r2r + three.revert_after_impact) - (one.r2r + one.revert_after_impact);
    double tol = (CHECK_MS + CHECK_COST_MS + PROBE_MS + SLACK_MS) + (PROBE_MS + SLACK_MS);
    printf("dns ttl: 3 s vs 1 s cache, revert to recover differs by %.3f ms (outage %.3f vs %.3f ms)\n",
           three.r2r - one.r2r, three.outage, one.outage);
    ck_assert_msg(diff >= 2000.0 - tol && diff <= 2000.0 + tol, "difference %.3f ms, expected 2000 +- %.1f", diff, tol);
}
END_TEST

static void setup(void)
{
    /* Under the guard's directory, which its runner-side teardown removes
     * even when the test died before its own teardown. */
    snprintf(tmpdir, sizeof tmpdir, "%s/dnsttl-XXXXXX", ash_test_journal_dir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static Suite *suite(void)
{
    Suite *s = suite_create("dns_ttl");
    TCase *tc = tcase_create("engine");
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, recovery_tracks_cache_ttl);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
