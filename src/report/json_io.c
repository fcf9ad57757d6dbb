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
    int depth;   /* where the value being dumped sits in the document */
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

/* jansson dumps every value as if it were the document, at depth 0; the only
 * raw newlines it writes are its indentation (a newline inside a string is
 * escaped), so a value at depth d reads as in the whole document once each
 * newline is followed by 2 d more spaces. */
static int shifted_put(const char *data, size_t size, void *arg)
{
    static const char spaces[] = "                                ";
    struct json_sink *s = arg;
    const char *nl;
    while (size > 0 && (nl = memchr(data, '\n', size)) != NULL) {
        size_t k = (size_t)(nl - data) + 1;
        if (sink_put(data, k, s) < 0)
            return -1;
        for (size_t left = 2 * (size_t)s->depth; left > 0;) {
            size_t m = left < sizeof spaces - 1 ? left : sizeof spaces - 1;
            if (sink_put(spaces, m, s) < 0)
                return -1;
            left -= m;
        }
        data += k;
        size -= k;
    }
    return sink_put(data, size, s);
}

#define JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(15))

static int put_value(struct json_sink *s, const json_t *v, int depth)
{
    s->depth = depth;
    /* 15 significant digits print 1234.567 as itself instead of
     * 1234.5670000000001: the figures carry three meaningful decimals. */
    return json_dump_callback(v, shifted_put, s, JSON_FLAGS | JSON_ENCODE_ANY);
}

/* A newline and the indentation of depth, as jansson's dump_indent writes them. */
static int put_indent(struct json_sink *s, int depth)
{
    s->depth = depth;
    return shifted_put("\n", 1, s);
}

/* A packed series (report/series.c) as the array of [t_ms, latency_ms, 0/1]
 * it stands for, one sample at a time through three reused nodes. */
static int put_series(struct json_sink *s, const json_t *series, int depth)
{
    size_t n = ash_report_series_len(series);
    if (sink_put("[", 1, s) < 0)
        return -1;
    if (n == 0)
        return sink_put("]", 1, s);
    json_t *t = json_real(0), *lat = json_real(0), *ok = json_integer(0), *rec = json_array();
    int ret = t && lat && ok && rec && json_array_append(rec, t) == 0 && json_array_append(rec, lat) == 0 &&
                      json_array_append(rec, ok) == 0
                  ? put_indent(s, depth + 1)
                  : -1;
    for (size_t i = 0; ret == 0 && i < n; i++) {
        struct ash_report_sample x;
        ash_report_series_at(series, i, &x);
        json_real_set(t, x.t_ms);
        json_real_set(lat, x.latency_ms);
        json_integer_set(ok, x.ok ? 1 : 0);
        ret = put_value(s, rec, depth + 1);
        if (ret == 0 && i + 1 < n)
            ret = sink_put(",", 1, s) < 0 ? -1 : put_indent(s, depth + 1);
    }
    json_decref(t);
    json_decref(lat);
    json_decref(ok);
    json_decref(rec);
    if (ret < 0 || put_indent(s, depth) < 0)
        return -1;
    return sink_put("]", 1, s);
}

/* The containers on the way to the series (report, runs, a run, probes, a
 * probe) are framed here as jansson's do_dump frames them with JSON_INDENT;
 * each member or element goes to `put`, which dumps anything else whole. */
typedef int (*put_fn)(struct json_sink *s, const char *key, const json_t *v, int depth);

/* jansson's object iteration takes a non-const pointer; it changes nothing. */
static json_t *iterable(const json_t *v)
{
    union {
        const json_t *c;
        json_t *m;
    } u = {.c = v};
    return u.m;
}

static int put_object(struct json_sink *s, const json_t *obj, int depth, put_fn put)
{
    if (!json_is_object(obj))
        return put_value(s, obj, depth);
    if (sink_put("{", 1, s) < 0)
        return -1;
    void *it = json_object_iter(iterable(obj));
    if (!it)
        return sink_put("}", 1, s);
    if (put_indent(s, depth + 1) < 0)
        return -1;
    while (it) {
        void *next = json_object_iter_next(iterable(obj), it);
        const char *key = json_object_iter_key(it);
        json_t *k = json_stringn(key, json_object_iter_key_len(it));
        int ret = k ? put_value(s, k, depth + 1) : -1;
        json_decref(k);
        if (ret < 0 || sink_put(": ", 2, s) < 0 || put(s, key, json_object_iter_value(it), depth + 1) < 0)
            return -1;
        if (next ? sink_put(",", 1, s) < 0 || put_indent(s, depth + 1) < 0 : put_indent(s, depth) < 0)
            return -1;
        it = next;
    }
    return sink_put("}", 1, s);
}

static int put_array(struct json_sink *s, const json_t *arr, int depth, put_fn put)
{
    if (!json_is_array(arr))
        return put_value(s, arr, depth);
    size_t n = json_array_size(arr);
    if (sink_put("[", 1, s) < 0)
        return -1;
    if (n == 0)
        return sink_put("]", 1, s);
    if (put_indent(s, depth + 1) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (put(s, NULL, json_array_get(arr, i), depth + 1) < 0)
            return -1;
        if (i + 1 < n ? sink_put(",", 1, s) < 0 || put_indent(s, depth + 1) < 0 : put_indent(s, depth) < 0)
            return -1;
    }
    return sink_put("]", 1, s);
}

static int put_probe_member(struct json_sink *s, const char *key, const json_t *v, int depth)
{
    if (strcmp(key, "series") == 0 && ash_report_series_is_packed(v))
        return put_series(s, v, depth);
    return put_value(s, v, depth);
}

static int put_probe(struct json_sink *s, const char *key, const json_t *v, int depth)
{
    (void)key;
    return put_object(s, v, depth, put_probe_member);
}

static int put_run_member(struct json_sink *s, const char *key, const json_t *v, int depth)
{
    if (strcmp(key, "probes") == 0)
        return put_array(s, v, depth, put_probe);
    return put_value(s, v, depth);
}

static int put_run(struct json_sink *s, const char *key, const json_t *v, int depth)
{
    (void)key;
    return put_object(s, v, depth, put_run_member);
}

static int put_report_member(struct json_sink *s, const char *key, const json_t *v, int depth)
{
    if (strcmp(key, "runs") == 0)
        return put_array(s, v, depth, put_run);
    return put_value(s, v, depth);
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
    s->depth = 0;
    s->failed = false;
    /* A trailing newline keeps the file friendly to cat and diff. */
    if (put_object(s, report, 0, put_report_member) < 0 || sink_put("\n", 1, s) < 0 || sink_flush(s) < 0) {
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
