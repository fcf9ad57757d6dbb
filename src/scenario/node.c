/* YAML documents with 1-based positions (libyaml document API) and the generic field-table parser. */
#include "scenario/node.h"
#include "sys/fs.h"
#include "scenario/target.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ash_doc {
    /* Behind a pointer so that a const ash_doc still hands libyaml a mutable document. */
    yaml_document_t *yd;
    char *file;
    struct ash_strlist *warnings; /* "file:line:col: ..." (behind a pointer for the same reason) */
};

static void strv_free(char **v, size_t n);

/* Scenarios nest six or seven levels; anything deeper is a mistake or an attack. */
#define ASH_MAX_DEPTH 64

/* ---------- errors ---------- */

static int vfail_at(const char *file, int line, int col, ash_error_t *err, const char *fmt, va_list ap)
{
    char msg[ASH_ERROR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (line > 0)
        return ash_error_class(err, ASH_ERR_USAGE, 0, "%s:%d:%d: %s", file, line, col, msg);
    return ash_error_class(err, ASH_ERR_USAGE, 0, "%s: %s", file, msg);
}

static int fail_at(const char *file, int line, int col, ash_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail_at(const char *file, int line, int col, ash_error_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ret = vfail_at(file, line, col, err, fmt, ap);
    va_end(ap);
    return ret;
}

int ash_node_fail(const ash_node *n, ash_error_t *err, const char *fmt, ...)
{
    struct ash_loc loc = ash_node_loc(n);
    va_list ap;
    va_start(ap, fmt);
    int ret = vfail_at(loc.file ? loc.file : "<scenario>", loc.line, loc.col, err, fmt, ap);
    va_end(ap);
    return ret;
}

/* ---------- loading ---------- */

static int yaml_syntax_error(const char *file, const yaml_parser_t *p, ash_error_t *err)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->error == YAML_MEMORY_ERROR)
        return ash_error(err, ENOMEM, "%s: cannot parse YAML", file);
    if (p->context)
        return fail_at(file, line, col, err, "%s (%s at line %d)", problem, p->context, (int)p->context_mark.line + 1);
    return fail_at(file, line, col, err, "%s", problem);
}

/* One pass over the events before loading: libyaml's loader would silently share
 * aliased nodes, and an error reported at an anchor far from the alias that used
 * it only confuses. Also: one document per file. */
static int check_events(const char *file, const unsigned char *text, size_t len, ash_error_t *err)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return ash_error(err, ENOMEM, "%s: cannot parse YAML", file);
    yaml_parser_set_input_string(&p, text, len);
    int ret = 0, docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            ret = yaml_syntax_error(file, &p, err);
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        const char *anchor = NULL;
        if (ev.type == YAML_ALIAS_EVENT)
            anchor = (const char *)ev.data.alias.anchor;
        else if (ev.type == YAML_SCALAR_EVENT)
            anchor = (const char *)ev.data.scalar.anchor;
        else if (ev.type == YAML_SEQUENCE_START_EVENT)
            anchor = (const char *)ev.data.sequence_start.anchor;
        else if (ev.type == YAML_MAPPING_START_EVENT)
            anchor = (const char *)ev.data.mapping_start.anchor;
        if (anchor)
            ret = fail_at(file, line, col, err,
                          "YAML anchors and aliases (&%s, *%s) are not supported: write the value out", anchor, anchor);
        else if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1)
            ret = fail_at(file, line, col, err, "a scenario file holds one YAML document, this is a second one");
        bool end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (ret < 0 || end)
            break;
    }
    yaml_parser_delete(&p);
    return ret;
}

static yaml_node_t *doc_node(const ash_doc *doc, int index)
{
    return yaml_document_get_node(doc->yd, index);
}

/* Reject duplicate keys (at the second one) and non-scalar keys, anywhere in the document. */
static int check_maps(const ash_doc *doc, yaml_node_t *y, int depth, ash_error_t *err)
{
    ash_node n = {doc, y};
    if (depth > ASH_MAX_DEPTH)
        return ash_node_fail(&n, err, "nested more than %d levels deep", ASH_MAX_DEPTH);
    if (y->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = y->data.sequence.items.start; it < y->data.sequence.items.top; it++)
            if (check_maps(doc, doc_node(doc, *it), depth + 1, err) < 0)
                return -1;
    } else if (y->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = y->data.mapping.pairs.start; p < y->data.mapping.pairs.top; p++) {
            ash_node k = {doc, doc_node(doc, p->key)};
            if (k.y->type != YAML_SCALAR_NODE)
                return ash_node_fail(&k, err, "a key must be a plain string, not a %s",
                                     k.y->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
            for (yaml_node_pair_t *q = y->data.mapping.pairs.start; q < p; q++) {
                yaml_node_t *prev = doc_node(doc, q->key);
                if (prev->type == YAML_SCALAR_NODE &&
                    strcmp((char *)prev->data.scalar.value, (char *)k.y->data.scalar.value) == 0)
                    return ash_node_fail(&k, err, "duplicate key '%s' (first at line %d)",
                                         (char *)k.y->data.scalar.value, (int)prev->start_mark.line + 1);
            }
            if (check_maps(doc, doc_node(doc, p->value), depth + 1, err) < 0)
                return -1;
        }
    }
    return 0;
}

int ash_doc_load_string(const char *name, const char *text, size_t len, ash_doc **out, ash_error_t *err)
{
    *out = NULL;
    ash_doc *doc = calloc(1, sizeof *doc);
    if (!doc || !(doc->file = strdup(name)) || !(doc->yd = calloc(1, sizeof *doc->yd)) ||
        !(doc->warnings = calloc(1, sizeof *doc->warnings))) {
        if (doc) {
            free(doc->file);
            free(doc->yd);
        }
        free(doc);
        return ash_error(err, ENOMEM, "cannot load '%s'", name);
    }
    const unsigned char *u = (const unsigned char *)text;
    if (check_events(name, u, len, err) < 0)
        goto fail;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        ash_error(err, ENOMEM, "cannot load '%s'", name);
        goto fail;
    }
    yaml_parser_set_input_string(&p, u, len);
    int ok = yaml_parser_load(&p, doc->yd);
    if (!ok)
        yaml_syntax_error(name, &p, err);
    yaml_parser_delete(&p);
    if (!ok) {
        free(doc->yd);
        doc->yd = NULL;
        goto fail;
    }
    yaml_node_t *root = yaml_document_get_root_node(doc->yd);
    if (root && check_maps(doc, root, 0, err) < 0)
        goto fail;
    *out = doc;
    return 0;
fail:
    ash_doc_free(doc);
    return -1;
}

int ash_doc_load_file(const char *path, ash_doc **out, ash_error_t *err)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f)
        return ash_error_class(err, ASH_ERR_USAGE, errno, "cannot open scenario '%s'", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int ret = 0;
    for (;;) {
        if (ash_grow(&buf, &cap, len + 4096, 1, 16384) < 0) {
            ret = ash_error(err, ENOMEM, "cannot read scenario '%s'", path);
            break;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) {
            if (ferror(f))
                ret = ash_error_class(err, ASH_ERR_USAGE, errno, "cannot read scenario '%s'", path);
            break;
        }
    }
    fclose(f);
    if (ret == 0)
        ret = ash_doc_load_string(path, buf ? buf : "", len, out, err);
    free(buf);
    return ret;
}

void ash_doc_free(ash_doc *doc)
{
    if (!doc)
        return;
    if (doc->yd) {
        yaml_document_delete(doc->yd);
        free(doc->yd);
    }
    if (doc->warnings) {
        strv_free(doc->warnings->v, doc->warnings->n);
        free(doc->warnings);
    }
    free(doc->file);
    free(doc);
}

int ash_node_warn(const ash_node *n, const char *fmt, ...)
{
    if (!n->doc || !n->doc->warnings)
        return 0;
    char msg[ASH_ERROR_MSG_MAX], line[ASH_ERROR_MSG_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct ash_loc loc = ash_node_loc(n);
    snprintf(line, sizeof line, "%s:%d:%d: warning: %s", loc.file ? loc.file : "<scenario>", loc.line, loc.col, msg);
    struct ash_strlist *w = n->doc->warnings;
    char **nv = realloc(w->v, (w->n + 2) * sizeof *nv);
    if (!nv)
        return -1;
    w->v = nv;
    if (!(w->v[w->n] = strdup(line)))
        return -1;
    w->v[++w->n] = NULL;
    return 0;
}

const struct ash_strlist *ash_doc_warnings(const ash_doc *doc)
{
    return doc ? doc->warnings : NULL;
}

const char *ash_doc_file(const ash_doc *doc)
{
    return doc ? doc->file : NULL;
}

ash_node ash_doc_root(const ash_doc *doc)
{
    ash_node n = {doc, doc && doc->yd ? yaml_document_get_root_node(doc->yd) : NULL};
    return n;
}

/* ---------- nodes ---------- */

bool ash_node_is_scalar(const ash_node *n)
{
    return ash_node_ok(n) && n->y->type == YAML_SCALAR_NODE;
}
bool ash_node_is_seq(const ash_node *n)
{
    return ash_node_ok(n) && n->y->type == YAML_SEQUENCE_NODE;
}
bool ash_node_is_map(const ash_node *n)
{
    return ash_node_ok(n) && n->y->type == YAML_MAPPING_NODE;
}

const char *ash_node_text(const ash_node *n)
{
    return ash_node_is_scalar(n) ? (const char *)n->y->data.scalar.value : NULL;
}

struct ash_loc ash_node_loc(const ash_node *n)
{
    struct ash_loc loc = {NULL, 0, 0};
    if (n && n->doc)
        loc.file = n->doc->file;
    if (ash_node_ok(n)) {
        loc.line = (int)n->y->start_mark.line + 1;
        loc.col = (int)n->y->start_mark.column + 1;
    }
    return loc;
}

static bool node_is_plain(const ash_node *n)
{
    return ash_node_is_scalar(n) && n->y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML 1.2 core schema: an unquoted ~, null or nothing is null, not text. */
bool ash_node_is_null(const ash_node *n)
{
    if (!node_is_plain(n))
        return false;
    const char *t = ash_node_text(n);
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

const char *ash_node_kind_name(const ash_node *n)
{
    if (ash_node_is_map(n))
        return "a mapping";
    if (ash_node_is_seq(n))
        return "a sequence";
    if (ash_node_is_null(n))
        return "nothing (an empty value)";
    return "a scalar";
}

ash_node ash_map_key(const ash_node *map, const char *key)
{
    ash_node k, v;
    for (size_t i = 0; ash_map_pair(map, i, &k, &v); i++)
        if (ash_node_is_scalar(&k) && strcmp(ash_node_text(&k), key) == 0)
            return k;
    return (ash_node){map ? map->doc : NULL, NULL};
}

ash_node ash_map_get(const ash_node *map, const char *key)
{
    ash_node k, v;
    for (size_t i = 0; ash_map_pair(map, i, &k, &v); i++)
        if (ash_node_is_scalar(&k) && strcmp(ash_node_text(&k), key) == 0)
            return v;
    return (ash_node){map ? map->doc : NULL, NULL};
}

ash_node ash_node_at(const ash_node *n, const char *key)
{
    if (ash_node_is_map(n)) {
        ash_node v = ash_map_get(n, key);
        if (ash_node_ok(&v))
            return v;
    }
    return *n;
}

size_t ash_map_size(const ash_node *map)
{
    if (!ash_node_is_map(map))
        return 0;
    return (size_t)(map->y->data.mapping.pairs.top - map->y->data.mapping.pairs.start);
}

bool ash_map_pair(const ash_node *map, size_t i, ash_node *key, ash_node *value)
{
    if (i >= ash_map_size(map))
        return false;
    yaml_node_pair_t *p = map->y->data.mapping.pairs.start + i;
    *key = (ash_node){map->doc, doc_node(map->doc, p->key)};
    *value = (ash_node){map->doc, doc_node(map->doc, p->value)};
    return true;
}

size_t ash_seq_len(const ash_node *seq)
{
    if (!ash_node_is_seq(seq))
        return 0;
    return (size_t)(seq->y->data.sequence.items.top - seq->y->data.sequence.items.start);
}

ash_node ash_seq_at(const ash_node *seq, size_t i)
{
    if (i >= ash_seq_len(seq))
        return (ash_node){seq ? seq->doc : NULL, NULL};
    return (ash_node){seq->doc, doc_node(seq->doc, seq->y->data.sequence.items.start[i])};
}

/* ---------- unknown keys ---------- */

/* Optimal string alignment distance: Levenshtein plus adjacent transpositions,
 * so "evrey" is one edit away from "every". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 1000;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *ash_nearest_word(const char *word, const char *const *list, const char *const *list2)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (int l = 0; l < 2; l++)
        for (const char *const *w = l ? list2 : list; w && *w; w++) {
            size_t d = edit_distance(word, *w);
            if (d < best_d) {
                best_d = d;
                best = *w;
            }
        }
    /* A suggestion helps only when it is plausibly what was meant: one edit for
     * short words, about a third of the word for longer ones. */
    size_t len = best ? strlen(best) : 0;
    size_t limit = len / 3 > 1 ? len / 3 : 1;
    if (best && best_d <= limit)
        return best;
    /* A shortened key ("stable" for "stable_for") is as clear a hint, if only one key starts so. */
    const char *prefixed = NULL;
    size_t wl = strlen(word);
    for (int l = 0; l < 2 && wl >= 3; l++)
        for (const char *const *w = l ? list2 : list; w && *w; w++)
            if (strncmp(*w, word, wl) == 0) {
                if (prefixed)
                    return NULL;
                prefixed = *w;
            }
    return prefixed;
}

static void join_words(char *buf, size_t len, const char *const *list, const char *const *list2)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int l = 0; l < 2; l++)
        for (const char *const *w = l ? list2 : list; w && *w; w++) {
            int r = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", *w);
            if (r < 0 || (size_t)r >= len - off)
                return;
            off += (size_t)r;
        }
}

static bool in_list(const char *s, const char *const *list)
{
    for (const char *const *w = list; w && *w; w++)
        if (strcmp(*w, s) == 0)
            return true;
    return false;
}

int ash_map_check_keys(const ash_node *map, const char *what, const char *const *allowed, const char *const *allowed2,
                       ash_error_t *err)
{
    ash_node k, v;
    for (size_t i = 0; ash_map_pair(map, i, &k, &v); i++) {
        const char *key = ash_node_text(&k);
        if (!key)
            return ash_node_fail(&k, err, "a key must be a plain string");
        if (in_list(key, allowed) || in_list(key, allowed2))
            continue;
        const char *near = ash_nearest_word(key, allowed, allowed2);
        if (near)
            return ash_node_fail(&k, err, "unknown key '%s' in %s (did you mean '%s'?)", key, what, near);
        char keys[512];
        join_words(keys, sizeof keys, allowed, allowed2);
        return ash_node_fail(&k, err, "unknown key '%s' in %s (valid keys: %s)", key, what, keys);
    }
    return 0;
}

/* ---------- scalar conversions ---------- */

/* Any scalar except null reads as text: a plain 8080 or true is its text. */
static int need_text(const ash_node *n, const char *expected, ash_error_t *err)
{
    if (!ash_node_is_scalar(n) || ash_node_is_null(n))
        return ash_node_fail(n, err, "expected %s, got %s", expected, ash_node_kind_name(n));
    return 0;
}

int ash_node_string(const ash_node *n, char **out, ash_error_t *err)
{
    if (need_text(n, "a string", err) < 0)
        return -1;
    if (!(*out = strdup(ash_node_text(n))))
        return ash_error(err, ENOMEM, "string");
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int string_list(const ash_node *n, bool single_ok, char ***out, size_t *len, ash_error_t *err)
{
    *out = NULL;
    *len = 0;
    size_t cnt = ash_node_is_seq(n) ? ash_seq_len(n) : 1;
    if (!ash_node_is_seq(n) && !(single_ok && ash_node_is_scalar(n) && !ash_node_is_null(n)))
        return ash_node_fail(n, err, "expected %s, got %s",
                             single_ok ? "a string or a list of strings" : "a list of strings", ash_node_kind_name(n));
    char **v = calloc(cnt + 1, sizeof *v); /* NULL-terminated: argv-ready */
    if (!v)
        return ash_error(err, ENOMEM, "list");
    for (size_t i = 0; i < cnt; i++) {
        ash_node item = ash_node_is_seq(n) ? ash_seq_at(n, i) : *n;
        if (ash_node_string(&item, &v[i], err) < 0) {
            strv_free(v, i);
            return -1;
        }
    }
    *out = v;
    *len = cnt;
    return 0;
}

int ash_node_string_list(const ash_node *n, char ***out, size_t *len, ash_error_t *err)
{
    return string_list(n, false, out, len, err);
}

static int need_plain(const ash_node *n, const char *expected, ash_error_t *err)
{
    if (need_text(n, expected, err) < 0)
        return -1;
    if (!node_is_plain(n))
        return ash_node_fail(n, err, "expected %s, got the quoted string \"%s\" (remove the quotes)", expected,
                             ash_node_text(n) ? ash_node_text(n) : ""); /* need_text saw text; -O2 cannot tell */
    return 0;
}

/* The booleans of YAML 1.1 (what PyYAML, Ansible and docker-compose files use) as well
 * as YAML 1.2's true/false, each all lower case, capitalised or all upper case: users
 * write `all: yes`, and no boolean field of a scenario could mean the words themselves.
 * The single letters y/n of the 1.1 spec are left out (a typo more often than a choice).
 * Every boolean field is read through ash_node_bool, so all of them agree; the schema
 * lists the same words (schema.c). */
const char *const ash_bool_true_words[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL};
const char *const ash_bool_false_words[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL};

static bool in_words(const char *t, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(t, *words) == 0)
            return true;
    return false;
}

int ash_node_bool(const ash_node *n, bool *out, ash_error_t *err)
{
    if (need_plain(n, "true or false", err) < 0)
        return -1;
    const char *t = ash_node_text(n);
    if (in_words(t, ash_bool_true_words))
        *out = true;
    else if (in_words(t, ash_bool_false_words))
        *out = false;
    else
        return ash_node_fail(n, err, "expected true or false (yes/no and on/off read the same), got '%s'", t);
    return 0;
}

static bool range_set(double min, double max)
{
    return min != 0 || max != 0;
}

int ash_node_int(const ash_node *n, long long min, long long max, long long *out, ash_error_t *err)
{
    if (need_plain(n, "an integer", err) < 0)
        return -1;
    const char *t = ash_node_text(n);
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (end == t || *end || errno || strspn(t, "+-0123456789") != strlen(t))
        return ash_node_fail(n, err, "expected an integer, got '%s'", t);
    if ((min || max) && (v < min || v > max))
        return ash_node_fail(n, err, "%lld is out of range (%lld..%lld)", v, min, max);
    *out = v;
    return 0;
}

int ash_node_double(const ash_node *n, double min, double max, double *out, ash_error_t *err)
{
    if (need_plain(n, "a number", err) < 0)
        return -1;
    const char *t = ash_node_text(n);
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    /* Decimal notation only: strtod would also take "inf", "nan" and hex floats. */
    if (end == t || *end || errno || strspn(t, "+-0123456789.eE") != strlen(t) || !isfinite(v))
        return ash_node_fail(n, err, "expected a number, got '%s'", t);
    if (range_set(min, max) && (v < min || v > max))
        return ash_node_fail(n, err, "%s is out of range (%g..%g)", t, min, max);
    *out = v;
    return 0;
}

/* ---------- durations, sizes, rates, percentages ---------- */

/* [0-9]+(.[0-9]*)? or .[0-9]+ ; the integer part exact, the fraction as a double. */
static int scan_number(const char **pp, uint64_t *ip, double *frac)
{
    const char *p = *pp;
    uint64_t v = 0;
    bool digits = false;
    while (*p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p++ - '0');
        digits = true;
    }
    double f = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        bool fdigits = false;
        while (*p >= '0' && *p <= '9') {
            f += (*p++ - '0') * scale;
            scale /= 10;
            fdigits = true;
        }
        if (!digits && !fdigits)
            return -1;
    } else if (!digits) {
        return -1;
    }
    *pp = p;
    *ip = v;
    *frac = f;
    return 0;
}

/* value = ip.frac * unit, rounded to an integer, checked against overflow. */
static int scale_number(uint64_t ip, double frac, uint64_t unit, uint64_t max, uint64_t *out)
{
    if (unit && ip > max / unit)
        return -1;
    uint64_t whole = ip * unit;
    double f = round(frac * (double)unit);
    if ((double)(max - whole) < f)
        return -1;
    *out = whole + (uint64_t)f;
    return 0;
}

int ash_parse_duration(const char *s, int64_t *ns)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {{"ns", 1},       {"us", 1000},      {"\xc2\xb5s", 1000}, /* µs */
                 {"ms", 1000000}, {"s", 1000000000}, {"m", UINT64_C(60000000000)}, {"h", UINT64_C(3600000000000)}};
    if (!s || !*s)
        return -1;
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    uint64_t total = 0;
    const char *p = s;
    while (*p) {
        uint64_t ip;
        double frac;
        if (scan_number(&p, &ip, &frac) < 0)
            return -1;
        size_t ulen = 0;
        while (p[ulen] && !(p[ulen] >= '0' && p[ulen] <= '9') && p[ulen] != '.')
            ulen++;
        uint64_t unit = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].name) == ulen && strncmp(units[i].name, p, ulen) == 0)
                unit = units[i].ns;
        if (!unit)
            return -1;
        p += ulen;
        uint64_t part;
        if (scale_number(ip, frac, unit, (uint64_t)INT64_MAX - total, &part) < 0)
            return -1;
        total += part;
    }
    *ns = (int64_t)total;
    return 0;
}

int ash_parse_size(const char *s, struct ash_size *out)
{
    static const struct {
        const char *name;
        uint64_t bytes;
    } units[] = {{"B", 1},
                 {"kB", 1000},
                 {"KB", 1000},
                 {"MB", 1000000},
                 {"GB", UINT64_C(1000000000)},
                 {"TB", UINT64_C(1000000000000)},
                 {"KiB", 1024},
                 {"MiB", UINT64_C(1) << 20},
                 {"GiB", UINT64_C(1) << 30},
                 {"TiB", UINT64_C(1) << 40}};
    if (!s || !*s)
        return -1;
    const char *p = s;
    uint64_t ip;
    double frac;
    if (scan_number(&p, &ip, &frac) < 0)
        return -1;
    struct ash_size r = {.set = true};
    if (strcmp(p, "%") == 0) {
        r.is_percent = true;
        r.fraction = ((double)ip + frac) / 100.0;
        if (r.fraction > 1.0)
            return -1;
        *out = r;
        return 0;
    }
    uint64_t unit = 0;
    if (!*p) {
        /* A bare number is bytes and must be whole. */
        if (strchr(s, '.'))
            return -1;
        unit = 1;
    }
    for (size_t i = 0; !unit && i < sizeof units / sizeof units[0]; i++)
        if (strcmp(units[i].name, p) == 0)
            unit = units[i].bytes;
    if (!unit || scale_number(ip, frac, unit, UINT64_MAX, &r.bytes) < 0)
        return -1;
    *out = r;
    return 0;
}

int ash_parse_percent(const char *s, double *fraction)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    uint64_t ip;
    double frac;
    if (scan_number(&p, &ip, &frac) < 0 || ip > 100)
        return -1;
    double v = (double)ip + frac;
    if (strcmp(p, "%") == 0)
        v /= 100.0;
    else if (*p)
        return -1;
    if (v > 1.0)
        return -1;
    *fraction = v;
    return 0;
}

/* The units of tc(8), compared without case as tc does: "mbit" is megabits per
 * second, "mbps" megabytes per second; the "i" forms are powers of 1024. */
static const struct {
    const char *name;
    uint64_t bits;
} rate_units[] = {{"bit", 1},
                  {"kbit", 1000},
                  {"mbit", 1000000},
                  {"gbit", UINT64_C(1000000000)},
                  {"tbit", UINT64_C(1000000000000)},
                  {"kibit", 1024},
                  {"mibit", UINT64_C(1) << 20},
                  {"gibit", UINT64_C(1) << 30},
                  {"tibit", UINT64_C(1) << 40},
                  {"bps", 8},
                  {"kbps", 8000},
                  {"mbps", 8000000},
                  {"gbps", UINT64_C(8000000000)},
                  {"tbps", UINT64_C(8000000000000)},
                  {"kibps", 8 * 1024},
                  {"mibps", UINT64_C(8) << 20},
                  {"gibps", UINT64_C(8) << 30},
                  {"tibps", UINT64_C(8) << 40}};

const char *const ash_rate_unit_names[] = {"bit",   "kbit",  "mbit",  "gbit",  "tbit", "kibit", "mibit",
                                           "gibit", "tibit", "bps",   "kbps",  "mbps", "gbps",  "tbps",
                                           "kibps", "mibps", "gibps", "tibps", NULL};

int ash_parse_rate(const char *s, uint64_t *bits_per_s)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    uint64_t ip;
    double frac;
    if (scan_number(&p, &ip, &frac) < 0)
        return -1;
    for (size_t i = 0; i < sizeof rate_units / sizeof rate_units[0]; i++)
        if (strcasecmp(rate_units[i].name, p) == 0)
            return scale_number(ip, frac, rate_units[i].bits, UINT64_MAX, bits_per_s);
    return -1; /* includes a bare number: say the unit */
}

#define DURATION_HELP "use a number with a unit (ns, us, ms, s, m, h), e.g. 250ms, 1.5s or 1m30s; only 0 goes without"
#define SIZE_HELP                                                                                                      \
    "use bytes (4096), a number with a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 64MiB or 1.5GiB, or a "      \
    "percentage such as 80%%"
#define RATE_HELP                                                                                                      \
    "use a number with a unit as tc does: bit, kbit, mbit, gbit, tbit (bits/s), kibit, mibit, gibit, tibit "           \
    "(1024-based bits/s), bps, kbps, mbps, gbps, tbps, kibps, mibps, gibps, tibps (bytes/s), e.g. 50mbit"
#define PERCENT_HELP "use 0%%..100%% or a fraction 0..1, e.g. 5%% or 0.05"

int ash_node_duration(const ash_node *n, int64_t *ns, ash_error_t *err)
{
    if (need_text(n, "a duration such as 250ms or 1m30s", err) < 0)
        return -1;
    if (ash_parse_duration(ash_node_text(n), ns) < 0)
        return ash_node_fail(n, err, "bad duration '%s': " DURATION_HELP, ash_node_text(n));
    return 0;
}

static int node_size(const ash_node *n, struct ash_size *out, ash_error_t *err)
{
    if (need_text(n, "a size such as 64MiB or 80%", err) < 0)
        return -1;
    if (ash_parse_size(ash_node_text(n), out) < 0)
        return ash_node_fail(n, err, "bad size '%s': " SIZE_HELP, ash_node_text(n));
    return 0;
}

static int node_rate(const ash_node *n, uint64_t *out, ash_error_t *err)
{
    if (need_text(n, "a rate such as 50mbit", err) < 0)
        return -1;
    if (ash_parse_rate(ash_node_text(n), out) < 0)
        return ash_node_fail(n, err, "bad rate '%s': " RATE_HELP, ash_node_text(n));
    return 0;
}

static int node_percent(const ash_node *n, double *out, ash_error_t *err)
{
    if (need_text(n, "a percentage such as 5%", err) < 0)
        return -1;
    if (ash_parse_percent(ash_node_text(n), out) < 0)
        return ash_node_fail(n, err, "bad percentage '%s': " PERCENT_HELP, ash_node_text(n));
    return 0;
}

/* ---------- declarative fields ---------- */

const char **ash_fields_keys(const struct ash_field *fields)
{
    size_t n = 0;
    while (fields && fields[n].key)
        n++;
    const char **keys = calloc(n + 1, sizeof *keys);
    for (size_t i = 0; keys && i < n; i++)
        keys[i] = fields[i].key;
    return keys;
}

static int parse_map_field(const ash_node *value, const struct ash_field *f, void *sub, ash_error_t *err)
{
    if (!ash_node_is_map(value))
        return ash_node_fail(value, err, "expected a mapping for '%s', got %s", f->key, ash_node_kind_name(value));
    const char **keys = ash_fields_keys(f->sub);
    if (!keys)
        return ash_error(err, ENOMEM, "fields");
    char what[128];
    snprintf(what, sizeof what, "'%s'", f->key);
    int ret = ash_map_check_keys(value, what, keys, NULL, err);
    free(keys);
    if (ret == 0)
        ret = ash_fields_parse(value, f->sub, sub, err);
    if (ret == 0)
        *(bool *)sub = true;
    return ret;
}

/* `target: TYPE:NAME`. An old key (ASH_FIELD_DEPRECATED, e.g. `host: web`) names the type
 * it implied in choices[0]; it still parses, with a warning that spells the new form. */
/* `node: NAME` beside the type key: the fleet node whose agent reaches the target. */
static int node_target_node(const ash_node *n, struct ash_target_ref *ref, ash_error_t *err)
{
    ash_node nv = ash_map_get(n, "node");
    if (!ash_node_ok(&nv))
        return 0;
    if (need_text(&nv, "a node's name, as in fleet.nodes", err) < 0)
        return -1;
    if (!ash_target_node_name_ok(ash_node_text(&nv)))
        return ash_node_fail(&nv, err, "'%s' is not a node name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 127)",
                             ash_node_text(&nv));
    char *dup = strdup(ash_node_text(&nv));
    if (!dup)
        return ash_error(err, ENOMEM, "scenario");
    free(ref->node);
    ref->node = dup;
    return 0;
}

/* {pod: {namespace: shop, name: web-0 | labels: {app: web}, container: web}} -> the
 * string form "shop/web-0/web", "shop/app=web/web" (scenario/target.h). */
/* A key left out or written as null. */
static bool pod_absent(const ash_node *n)
{
    return !n->y || ash_node_is_null(n);
}

static int node_pod_map(const ash_node *v, char *sel, size_t len, ash_error_t *err)
{
    static const char *const keys[] = {"namespace", "name", "labels", "container", NULL};
    if (ash_map_check_keys(v, "pod", keys, NULL, err) < 0)
        return -1;
    ash_node ns = ash_map_get(v, "namespace"), name = ash_map_get(v, "name"), labels = ash_map_get(v, "labels"),
             ctr = ash_map_get(v, "container");
    if (pod_absent(&ns))
        return ash_node_fail(v, err, "a pod target needs 'namespace:' (the pod's Kubernetes namespace)");
    if (pod_absent(&name) == pod_absent(&labels))
        return ash_node_fail(v, err, "a pod is selected by 'name: POD' or by 'labels: {KEY: VALUE}', one of the two");
    size_t off = (size_t)snprintf(sel, len, "%s/", ash_node_text(&ns));
    if (!pod_absent(&name)) {
        if (need_text(&name, "a pod name", err) < 0)
            return -1;
        off += (size_t)snprintf(sel + off, off < len ? len - off : 0, "%s", ash_node_text(&name));
    } else {
        if (!ash_node_is_map(&labels) || ash_map_size(&labels) == 0)
            return ash_node_fail(&labels, err, "'labels' is a mapping of KEY: VALUE, e.g. {app: web}");
        for (size_t i = 0; i < ash_map_size(&labels); i++) {
            ash_node k, lv;
            ash_map_pair(&labels, i, &k, &lv);
            if (need_text(&lv, "a label value", err) < 0)
                return -1;
            off += (size_t)snprintf(sel + off, off < len ? len - off : 0, "%s%s=%s", i ? "," : "", ash_node_text(&k),
                                    ash_node_text(&lv));
        }
    }
    if (!pod_absent(&ctr)) {
        if (need_text(&ctr, "a container name", err) < 0)
            return -1;
        off += (size_t)snprintf(sel + off, off < len ? len - off : 0, "/%s", ash_node_text(&ctr));
    }
    if (off >= len)
        return ash_node_fail(v, err, "the pod selector is too long");
    return 0;
}

/* The mapping form of the types that select what already runs:
 * `{container: web}`, `{container: {label: K=V}}`, `{process: {pidfile: /run/x.pid}}`,
 * `{cgroup: system.slice/x.service}`: the same ref as the string form; in a fleet run
 * `node: NAME` may stand beside the type key. */
/* `{swarm_service: web}` or `{swarm_service: web, all: true}` (fleet engine swarm):
 * the service's running tasks, resolved by the run (target.h, `swarm`). */
static int node_swarm_service(const ash_node *n, const ash_node *v, struct ash_target_ref *ref, ash_error_t *err)
{
    static const char *const keys[] = {"swarm_service", "all", NULL};
    if (ash_map_check_keys(n, "a swarm_service target", keys, NULL, err) < 0)
        return -1;
    if (need_text(v, "a Swarm service's name", err) < 0)
        return -1;
    /* Docker's own rule for a service name (and no '/' or ':' to confuse a selector). */
    if (!ash_target_node_name_ok(ash_node_text(v)))
        return ash_node_fail(v, err, "'%s' is not a Swarm service name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 127)",
                             ash_node_text(v));
    ash_node all = ash_map_get(n, "all");
    bool every = false;
    if (ash_node_ok(&all) && ash_node_bool(&all, &every, err) < 0)
        return -1;
    char *dup = strdup(ash_node_text(v));
    if (!dup)
        return ash_error(err, ENOMEM, "scenario");
    free(ref->name);
    ref->name = dup;
    ref->type = ASH_TARGET_CONTAINER;
    ref->swarm = true;
    ref->all = every;
    return 0;
}

/* `{pods: {namespace: NS, labels: {K: V} | name: POD, container: C}, all: true}`
 * (fleet engine kubernetes): the pods the run lists through the API (target.h, `kube`). */
static int node_kube_pods(const ash_node *n, const ash_node *v, struct ash_target_ref *ref, ash_error_t *err)
{
    static const char *const keys[] = {"pods", "all", NULL};
    if (ash_map_check_keys(n, "a pods target", keys, NULL, err) < 0)
        return -1;
    if (!ash_node_is_map(v))
        return ash_node_fail(v, err, "'pods' is a mapping: {namespace: NS, labels: {KEY: VALUE}, container: NAME}");
    char sel[1024];
    if (node_pod_map(v, sel, sizeof sel, err) < 0)
        return -1;
    char msg[256];
    if (ash_target_selector_check(ASH_TARGET_POD, sel, msg, sizeof msg) < 0)
        return ash_node_fail(v, err, "%s", msg);
    ash_node all = ash_map_get(n, "all");
    bool every = false;
    if (ash_node_ok(&all) && ash_node_bool(&all, &every, err) < 0)
        return -1;
    char *dup = strdup(sel);
    if (!dup)
        return ash_error(err, ENOMEM, "scenario");
    free(ref->name);
    ref->name = dup;
    ref->type = ASH_TARGET_POD;
    ref->kube = true;
    ref->all = every;
    return 0;
}

/* One label of `labels:`, K=V (or K alone), appended to sel as the string form's
 * "label=K=V,K2=V2"; a bad one is reported at its own node. */
static int add_label(const ash_node *at, const char *key, const char *value, char *sel, size_t len, size_t *off,
                     ash_error_t *err)
{
    char term[600], why[256];
    int tn = snprintf(term, sizeof term, "%s%s%s", key, value ? "=" : "", value ? value : "");
    if (tn < 0 || (size_t)tn >= sizeof term)
        return ash_node_fail(at, err, "this label is too long");
    if (ash_target_label_term_check(term, (size_t)tn, why, sizeof why) < 0)
        return ash_node_fail(at, err, "label %s", why);
    *off += (size_t)snprintf(sel + *off, *off < len ? len - *off : 0, "%s%s", *off > 6 ? "," : "", term);
    if (*off >= len)
        return ash_node_fail(at, err, "the labels are too long");
    return 0;
}

/* `{container: {labels: [K=V, K2=V2]}}` or `{labels: {K: V, K2: V2}}` (as compose writes
 * labels, either way): the containers with every one of them, "label=K=V,K2=V2". */
static int node_container_labels(const ash_node *v, char *sel, size_t len, ash_error_t *err)
{
    size_t off = (size_t)snprintf(sel, len, "label=");
    size_t n = ash_node_is_seq(v) ? ash_seq_len(v) : ash_node_is_map(v) ? ash_map_size(v) : 0;
    if ((!ash_node_is_seq(v) && !ash_node_is_map(v)) || n == 0)
        return ash_node_fail(v, err,
                             "'labels' lists the labels a container must all have: [KEY=VALUE, ...] or "
                             "{KEY: VALUE, ...} (one label: label: KEY=VALUE)");
    for (size_t i = 0; i < n; i++) {
        if (ash_node_is_seq(v)) {
            ash_node item = ash_seq_at(v, i);
            if (need_text(&item, "a label, KEY=VALUE", err) < 0 ||
                add_label(&item, ash_node_text(&item), NULL, sel, len, &off, err) < 0)
                return -1;
            continue;
        }
        ash_node k, lv;
        ash_map_pair(v, i, &k, &lv);
        if (strchr(ash_node_text(&k), '='))
            return ash_node_fail(&k, err, "'%s': in the mapping form a label is KEY: VALUE", ash_node_text(&k));
        /* {KEY: } (null): the key with any value, as label=KEY does */
        bool any = ash_node_is_null(&lv);
        if (!any && need_text(&lv, "a label's value", err) < 0)
            return -1;
        if (add_label(any ? &k : &lv, ash_node_text(&k), any ? NULL : ash_node_text(&lv), sel, len, &off, err) < 0)
            return -1;
    }
    return 0;
}

static int node_target_map(const ash_node *n, struct ash_target_ref *ref, ash_error_t *err)
{
    ash_node k, v, nk = ash_map_get(n, "node"), sw = ash_map_get(n, "swarm_service"), kp = ash_map_get(n, "pods");
    if (ash_node_ok(&sw))
        return node_swarm_service(n, &sw, ref, err);
    if (ash_node_ok(&kp))
        return node_kube_pods(n, &kp, ref, err);
    size_t want = ash_node_ok(&nk) ? 2 : 1;
    size_t idx = 0;
    if (want == 2 && ash_map_size(n) == 2 && ash_map_pair(n, 0, &k, &v) && ash_node_text(&k) &&
        strcmp(ash_node_text(&k), "node") == 0)
        idx = 1; /* the type key is the other one */
    if (ash_map_size(n) != want || !ash_map_pair(n, idx, &k, &v))
        return ash_node_fail(n, err,
                             "a target mapping has one key (container, process, cgroup or pod), and `node` in a fleet "
                             "run (or swarm_service, with `all`)");
    if (node_target_node(n, ref, err) < 0)
        return -1;
    const char *type = ash_node_text(&k);
    int t = ASH_TARGET_UNRESOLVED;
    for (int i = ASH_TARGET_CONTAINER; ash_target_type_names[i]; i++)
        if (type && strcmp(ash_target_type_names[i], type) == 0)
            t = i;
    if (t == ASH_TARGET_UNRESOLVED)
        return ash_node_fail(&k, err,
                             "'%s' is not a target type for the mapping form (container, process, cgroup, pod)",
                             type ? type : "");
    char sel[1024];
    ash_node at = v; /* where a bad selector is reported */
    if (t == ASH_TARGET_POD && ash_node_is_map(&v)) {
        if (node_pod_map(&v, sel, sizeof sel, err) < 0)
            return -1;
    } else if (ash_node_is_map(&v)) {
        static const char *const keys[][6] = {
            [ASH_TARGET_CONTAINER] = {"name", "id", "label", "labels", "all", NULL},
            [ASH_TARGET_PROCESS] = {"pid", "pidfile", "exe", NULL},
            [ASH_TARGET_CGROUP] = {"path", NULL},
            [ASH_TARGET_POD] = {NULL},
        };
        if (ash_map_check_keys(&v, type, keys[t], NULL, err) < 0)
            return -1;
        ash_node sk = {0}, sv = {0}, all = ash_map_get(&v, "all");
        size_t nsel = ash_map_size(&v) - (ash_node_ok(&all) ? 1 : 0);
        for (size_t i = 0; i < ash_map_size(&v) && ash_map_pair(&v, i, &sk, &sv); i++)
            if (strcmp(ash_node_text(&sk) ? ash_node_text(&sk) : "", "all") != 0)
                break;
        if (nsel != 1)
            return ash_node_fail(&v, err, "a %s is selected by one key", type);
        if (ash_node_ok(&all)) {
            if (ash_node_bool(&all, &ref->all, err) < 0)
                return -1;
            if (strcmp(ash_node_text(&sk), "label") != 0 && strcmp(ash_node_text(&sk), "labels") != 0)
                return ash_node_fail(&all, err, "'all: true' goes with a label: {label: KEY=VALUE, all: true}");
        }
        const char *key = ash_node_text(&sk);
        bool plain = strcmp(key, "name") == 0 || strcmp(key, "id") == 0 || strcmp(key, "path") == 0;
        if (strcmp(key, "labels") == 0) {
            if (node_container_labels(&sv, sel, sizeof sel, err) < 0)
                return -1;
        } else if (need_text(&sv, "a name, id, label, pid or path", err) < 0) {
            return -1;
        } else {
            snprintf(sel, sizeof sel, "%s%s%s", plain ? "" : key, plain ? "" : "=", ash_node_text(&sv));
        }
        at = sv;
    } else {
        if (need_text(&v, "a name, or a mapping such as {label: KEY=VALUE}", err) < 0)
            return -1;
        snprintf(sel, sizeof sel, "%s", ash_node_text(&v));
    }
    char msg[256];
    if (ash_target_selector_check(t, sel, msg, sizeof msg) < 0)
        return ash_node_fail(&at, err, "%s", msg);
    char *dup = strdup(sel);
    if (!dup)
        return ash_error(err, ENOMEM, "scenario");
    free(ref->name);
    ref->name = dup;
    ref->type = t;
    return 0;
}

static int node_target(const ash_node *n, const struct ash_field *f, struct ash_target_ref *ref, ash_error_t *err)
{
    if (ash_node_is_map(n) && !(f->flags & ASH_FIELD_DEPRECATED)) {
        if (node_target_map(n, ref, err) < 0)
            return -1;
        ref->loc = ash_node_loc(n);
        return 0;
    }
    if (need_text(n, "a target such as host:web, service:api or container:web", err) < 0)
        return -1;
    char msg[256];
    if (f->flags & ASH_FIELD_DEPRECATED) {
        const char *type = f->choices ? f->choices[0] : "service";
        char *name = strdup(ash_node_text(n));
        if (!name)
            return ash_error(err, ENOMEM, "scenario");
        free(ref->name);
        ref->name = name;
        ref->type = ASH_TARGET_UNRESOLVED;
        for (int i = ASH_TARGET_HOST; ash_target_type_names[i]; i++)
            if (strcmp(ash_target_type_names[i], type) == 0)
                ref->type = i;
        if (ash_node_warn(n, "'%s: %s' is deprecated and goes away in the next release: write 'target: %s:%s'", f->key,
                          name, type, name) < 0)
            return ash_error(err, ENOMEM, "scenario");
    } else if (ash_target_ref_parse(ash_node_text(n), ref, msg, sizeof msg) < 0) {
        return ash_node_fail(n, err, "%s", msg);
    }
    ref->loc = ash_node_loc(n);
    return 0;
}

/* The field at the same offset that this deprecated one is an old spelling of. */
static const struct ash_field *current_spelling(const struct ash_field *fields, const struct ash_field *old)
{
    for (const struct ash_field *f = fields; f && f->key; f++)
        if (f != old && f->offset == old->offset && !(f->flags & ASH_FIELD_DEPRECATED))
            return f;
    return NULL;
}

int ash_field_parse_value(const ash_node *value, const struct ash_field *f, void *conf, ash_error_t *err)
{
    void *p = (char *)conf + f->offset;
    switch (f->type) {
    case ASH_F_STRING: {
        char *s;
        if (ash_node_string(value, &s, err) < 0)
            return -1;
        free(*(char **)p);
        *(char **)p = s;
        return 0;
    }
    case ASH_F_STRLIST:
    case ASH_F_ARGV: {
        struct ash_strlist *l = p, nl;
        if (f->type == ASH_F_ARGV && ash_node_is_scalar(value) && !ash_node_is_null(value))
            return ash_node_fail(value, err,
                                 "a command is an argv list such as [\"sleep\", \"1\"], not a shell string; "
                                 "write [\"sh\", \"-c\", \"...\"] to use a shell");
        if (string_list(value, f->type == ASH_F_STRLIST, &nl.v, &nl.n, err) < 0)
            return -1;
        if (f->type == ASH_F_ARGV && nl.n == 0) {
            strv_free(nl.v, 0);
            return ash_node_fail(value, err, "a command needs at least the program to run");
        }
        strv_free(l->v, l->n);
        *l = nl;
        return 0;
    }
    case ASH_F_DURATION:
        return ash_node_duration(value, (int64_t *)p, err);
    case ASH_F_SIZE:
        return node_size(value, (struct ash_size *)p, err);
    case ASH_F_RATE:
        return node_rate(value, (uint64_t *)p, err);
    case ASH_F_BOOL:
        return ash_node_bool(value, (bool *)p, err);
    case ASH_F_INT:
        return ash_node_int(value, (long long)f->min, (long long)f->max, (long long *)p, err);
    case ASH_F_DOUBLE:
        return ash_node_double(value, f->min, f->max, (double *)p, err);
    case ASH_F_PERCENT:
        return node_percent(value, (double *)p, err);
    case ASH_F_ENUM: {
        if (need_text(value, "a word", err) < 0)
            return -1;
        const char *t = ash_node_text(value);
        for (int i = 0; f->choices && f->choices[i]; i++)
            if (strcmp(f->choices[i], t) == 0) {
                *(int *)p = i;
                return 0;
            }
        char list[256];
        join_words(list, sizeof list, f->choices, NULL);
        const char *near = ash_nearest_word(t, f->choices, NULL);
        if (near)
            return ash_node_fail(value, err, "'%s' is not a valid %s (did you mean '%s'? one of: %s)", t, f->key, near,
                                 list);
        return ash_node_fail(value, err, "'%s' is not a valid %s (one of: %s)", t, f->key, list);
    }
    case ASH_F_MAP:
        return parse_map_field(value, f, p, err);
    case ASH_F_NODE:
        *(ash_node *)p = *value;
        return 0;
    case ASH_F_TARGET:
        return node_target(value, f, (struct ash_target_ref *)p, err);
    }
    return ash_error(err, EINVAL, "field '%s' has an unknown type", f->key);
}

int ash_fields_parse(const ash_node *map, const struct ash_field *fields, void *conf, ash_error_t *err)
{
    if (!ash_node_is_map(map))
        return ash_node_fail(map, err, "expected a mapping, got %s", ash_node_kind_name(map));
    for (const struct ash_field *f = fields; f && f->key; f++) {
        ash_node v = ash_map_get(map, f->key);
        if (!ash_node_ok(&v)) {
            bool old_given = false;
            for (const struct ash_field *o = fields; o->key && (f->flags & ASH_FIELD_REQUIRED); o++)
                if ((o->flags & ASH_FIELD_DEPRECATED) && current_spelling(fields, o) == f) {
                    ash_node ov = ash_map_get(map, o->key);
                    old_given |= ash_node_ok(&ov);
                }
            if ((f->flags & ASH_FIELD_REQUIRED) && !old_given)
                return ash_node_fail(map, err, "missing required key '%s'", f->key);
            continue;
        }
        if (f->flags & ASH_FIELD_DEPRECATED) {
            const struct ash_field *cur = current_spelling(fields, f);
            ash_node cv = cur ? ash_map_get(map, cur->key) : (ash_node){0};
            if (ash_node_ok(&cv))
                return ash_node_fail(&v, err, "give '%s' only: '%s' is its old spelling", cur->key, f->key);
            for (const struct ash_field *o = fields; o->key; o++) {
                ash_node ov = o != f && (o->flags & ASH_FIELD_DEPRECATED) && current_spelling(fields, o) == cur
                                  ? ash_map_get(map, o->key)
                                  : (ash_node){0};
                if (ash_node_ok(&ov))
                    return ash_node_fail(&v, err, "give one target: 'target: TYPE:NAME' (not both '%s' and '%s')",
                                         f->key, o->key);
            }
        }
        if (ash_field_parse_value(&v, f, conf, err) < 0)
            return -1;
    }
    return 0;
}

void ash_fields_free(const struct ash_field *fields, void *conf)
{
    if (!conf)
        return;
    for (const struct ash_field *f = fields; f && f->key; f++) {
        void *p = (char *)conf + f->offset;
        switch (f->type) {
        case ASH_F_STRING:
            free(*(char **)p);
            *(char **)p = NULL;
            break;
        case ASH_F_STRLIST:
        case ASH_F_ARGV: {
            struct ash_strlist *l = p;
            strv_free(l->v, l->n);
            l->v = NULL;
            l->n = 0;
            break;
        }
        case ASH_F_MAP:
            ash_fields_free(f->sub, p);
            break;
        case ASH_F_TARGET:
            ash_target_ref_clear(p);
            break;
        case ASH_F_DURATION:
        case ASH_F_SIZE:
        case ASH_F_RATE:
        case ASH_F_BOOL:
        case ASH_F_INT:
        case ASH_F_DOUBLE:
        case ASH_F_PERCENT:
        case ASH_F_ENUM:
        case ASH_F_NODE:
            break;
        }
    }
}
