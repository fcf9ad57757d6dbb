/* src/report alone: a stored report.json rendered to Markdown and HTML with
 * src/sys only (no engine, no scenario parser). */
#include "report/report.h"
#include "../unit/test_run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

START_TEST(test_renders_a_stored_report)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/reports/pass.json", getenv("ASH_SOURCE_DIR"));
    json_error_t jerr;
    json_t *report = json_load_file(path, 0, &jerr);
    ck_assert_msg(report != NULL, "%s: %s", path, jerr.text);
    char dir[] = "/tmp/ash-layer-report-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char md[600], html[600];
    snprintf(md, sizeof md, "%s/report.md", dir);
    snprintf(html, sizeof html, "%s/report.html", dir);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_markdown(report, md, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_report_write_html(report, html, &err) == 0, "%s", err.msg);
    const char *name = json_string_value(json_object_get(report, "scenario"));
    ck_assert_ptr_nonnull(name);
    ck_assert_msg(strstr(slurp(md), name), "the Markdown does not name scenario '%s'", name);
    ck_assert_msg(strstr(slurp(html), "<html"), "no HTML document");
    unlink(md);
    unlink(html);
    rmdir(dir);
    json_decref(report);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer_report");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, test_renders_a_stored_report);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
