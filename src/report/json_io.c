/* report.json on disk: pretty atomic writes, and loading with a schema check. */
#include "report/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ash_report_write_json(const json_t *report, const char *path, ash_error_t *err)
{
    /* 15 significant digits print 1234.567 as itself instead of
     * 1234.5670000000001: the figures carry three meaningful decimals. */
    char *text = json_dumps(report, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    if (!text)
        return ash_error(err, ENOMEM, "cannot serialise the report for %s", path);
    size_t len = strlen(text);
    /* A trailing newline keeps the file friendly to cat and diff. */
    char *withnl = realloc(text, len + 2);
    if (!withnl) {
        free(text);
        return ash_error(err, ENOMEM, "cannot serialise the report for %s", path);
    }
    withnl[len++] = '\n';
    withnl[len] = '\0';
    int ret = ash_report_write_atomic(path, withnl, len, err);
    free(withnl);
    return ret;
}

int ash_report_load(const char *path, json_t **out, ash_error_t *err)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) {
        if (jerr.line <= 0)
            return ash_error_class(err, ASH_ERR_USAGE, 0, "cannot read report %s: %s", path, jerr.text);
        return ash_error_class(err, ASH_ERR_USAGE, 0, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column,
                               jerr.text);
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return ash_error_class(err, ASH_ERR_USAGE, 0, "%s: not an aftershock report (the top level is not an object)",
                               path);
    }
    const json_t *schema = json_object_get(doc, "schema");
    if (!json_is_string(schema)) {
        json_decref(doc);
        return ash_error_class(err, ASH_ERR_USAGE, 0, "%s: not an aftershock report (no \"schema\": \"%s\" field)",
                               path, ASH_REPORT_SCHEMA);
    }
    if (strcmp(json_string_value(schema), ASH_REPORT_SCHEMA) != 0) {
        ash_error_class(err, ASH_ERR_USAGE, 0, "%s: unsupported report schema \"%s\" (this build reads %s)", path,
                        json_string_value(schema), ASH_REPORT_SCHEMA);
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}
