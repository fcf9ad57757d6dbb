/* `aftershock report DIR`: every rendering of one report into its run directory. */
#include "report/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ash_report_render_all(const json_t *report, const char *run_dir, ash_error_t *err)
{
    static const struct {
        const char *name;
        int (*write)(const json_t *, const char *, ash_error_t *);
    } outputs[] = {
        {"junit.xml", ash_report_write_junit},           {"report.md", ash_report_write_markdown},
        {"report.html", ash_report_write_html},          {"gameday.md", ash_report_write_gameday_md},
        {"gameday.html", ash_report_write_gameday_html},
    };
    size_t cap = strlen(run_dir) + 32;
    char *path = malloc(cap);
    if (!path)
        return ash_error(err, ENOMEM, "cannot render reports into %s", run_dir);
    int ret = 0;
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        snprintf(path, cap, "%s/%s", run_dir, outputs[i].name);
        if (outputs[i].write(report, path, err) < 0) {
            ret = -1;
            break;
        }
    }
    free(path);
    return ret;
}
