/* report.json on disk: pretty atomic writes, and loading with a schema check. */
#include "report/report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* json_dump_callback's sink: report.json goes to its temporary file through
 * a fixed buffer instead of being built as one string first (json_dumps: the
 * whole text, grown by doubling, then copied to add the newline: twice the
 * file's size at the end of the run, the process's peak; issue 19). */
struct json_sink {
    struct ash_report_tmp *t;
    ash_error_t *err;
    bool failed; /* a write failed and set err */
    size_t n;
    char buf[64 * 1024];
};

static int sink_flush(struct json_sink *s)
{
    int ret = ash_report_tmp_write(s->t, s->buf, s->n, s->err);
    s->failed = ret < 0;
    s->n = 0;
    return ret;
}

static int sink_put(const char *data, size_t size, void *arg)
{
    struct json_sink *s = arg;
    while (size > 0) {
        if (s->n == sizeof s->buf && sink_flush(s) < 0)
            return -1;
        size_t k = sizeof s->buf - s->n < size ? sizeof s->buf - s->n : size;
        memcpy(s->buf + s->n, data, k);
        s->n += k;
        data += k;
        size -= k;
    }
    return 0;
}

int ash_report_write_json(const json_t *report, const char *path, ash_error_t *err)
{
    struct ash_report_tmp t;
    if (ash_report_tmp_open(&t, path, err) < 0)
        return -1;
    struct json_sink *s = malloc(sizeof *s);
    if (!s) {
        ash_report_tmp_discard(&t);
        return ash_error(err, ENOMEM, "cannot serialise the report for %s", path);
    }
    s->t = &t;
    s->err = err;
    s->n = 0;
    s->failed = false;
    /* 15 significant digits print 1234.567 as itself instead of
     * 1234.5670000000001: the figures carry three meaningful decimals.
     * A trailing newline keeps the file friendly to cat and diff. */
    if (json_dump_callback(report, sink_put, s, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) < 0 ||
        sink_put("\n", 1, s) < 0 || sink_flush(s) < 0) {
        /* A failed write set err; anything else is jansson out of memory. */
        if (!s->failed)
            ash_error(err, ENOMEM, "cannot serialise the report for %s", path);
        free(s);
        ash_report_tmp_discard(&t);
        return -1;
    }
    free(s);
    return ash_report_tmp_commit(&t, err);
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
