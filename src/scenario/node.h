/* YAML documents with positions, and a declarative field parser for kind configs.
 *
 * Every kind (fault, probe, detector, action) describes its configuration as a
 * table of struct ash_field; one generic parser fills the kind's conf struct,
 * rejects unknown keys with the nearest valid key suggested, and reports
 * every error as file:line:column. The same tables produce scenarios/schema.json
 * (`aftershock schema`), so the parser and the schema cannot drift apart. */
#ifndef ASH_SCENARIO_NODE_H
#define ASH_SCENARIO_NODE_H

#include <aftershock/aftershock.h> /* ash_error_t; the public entry points this file defines */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

typedef struct ash_doc ash_doc;
struct ash_strlist;

typedef struct ash_node {
    const ash_doc *doc;
    yaml_node_t *y; /* NULL for a missing node */
} ash_node;

/* Positions are 1-based (line, column), as editors show them. */
struct ash_loc {
    const char *file; /* owned by the document / scenario */
    int line;
    int col;
};

int ash_doc_load_file(const char *path, ash_doc **out, ash_error_t *err);
int ash_doc_load_string(const char *name, const char *text, size_t len, ash_doc **out, ash_error_t *err);
void ash_doc_free(ash_doc *doc);
const char *ash_doc_file(const ash_doc *doc);
/* Warnings gathered while parsing (deprecated spellings), "file:line:col: warning: ...". */
const struct ash_strlist *ash_doc_warnings(const ash_doc *doc);
ash_node ash_doc_root(const ash_doc *doc);

static inline bool ash_node_ok(const ash_node *n)
{
    return n && n->y;
}
bool ash_node_is_scalar(const ash_node *n);
bool ash_node_is_seq(const ash_node *n);
bool ash_node_is_map(const ash_node *n);
/* An unquoted ~, null or empty value (YAML 1.2 core schema null). */
bool ash_node_is_null(const ash_node *n);
/* "a mapping", "a sequence", "a scalar", "nothing (an empty value)": for messages. */
const char *ash_node_kind_name(const ash_node *n);
/* The scalar's text (NULL unless scalar). */
const char *ash_node_text(const ash_node *n);
struct ash_loc ash_node_loc(const ash_node *n);

/* Fill err with "file:line:col: message" (class ASH_ERR_USAGE) and return -1. */
int ash_node_fail(const ash_node *n, ash_error_t *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Record a warning at n (shown by validate and run); -1 only when out of memory. */
int ash_node_warn(const ash_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Map access. ash_map_get returns a node with y == NULL when the key is absent. */
ash_node ash_map_get(const ash_node *map, const char *key);
/* Key node (for positions of key errors). */
ash_node ash_map_key(const ash_node *map, const char *key);
size_t ash_map_size(const ash_node *map);
/* i-th pair; returns false past the end. */
bool ash_map_pair(const ash_node *map, size_t i, ash_node *key, ash_node *value);
size_t ash_seq_len(const ash_node *seq);
ash_node ash_seq_at(const ash_node *seq, size_t i);
/* The value of `key` when n is a map, else n itself: positions for validate hooks
 * whose value may be a map or a shorthand scalar ("restart: SERVICE"). */
ash_node ash_node_at(const ash_node *n, const char *key);

/* Reject keys not in allowed (NULL-terminated list, may be given twice: two lists are
 * merged). The error names the nearest valid key ("did you mean 'every'?"). */
int ash_map_check_keys(const ash_node *map, const char *what, const char *const *allowed, const char *const *allowed2,
                       ash_error_t *err);
/* The word of list/list2 close enough to `word` to suggest it, or NULL. */
const char *ash_nearest_word(const char *word, const char *const *list, const char *const *list2);

/* Scalar conversions; each fails with the node's position. */
int ash_node_string(const ash_node *n, char **out, ash_error_t *err);                    /* strdup'd */
int ash_node_string_list(const ash_node *n, char ***out, size_t *len, ash_error_t *err); /* seq of scalars */
int ash_node_duration(const ash_node *n, int64_t *ns, ash_error_t *err);                 /* "250ms" "1m30s" "1.5s" */
/* What a boolean field reads as true and as false: YAML 1.2's true/false and YAML 1.1's
 * yes/no, on/off, each lower case, Title case or UPPER case (NULL-terminated). */
extern const char *const ash_bool_true_words[];
extern const char *const ash_bool_false_words[];
int ash_node_bool(const ash_node *n, bool *out, ash_error_t *err);
int ash_node_int(const ash_node *n, long long min, long long max, long long *out, ash_error_t *err);
int ash_node_double(const ash_node *n, double min, double max, double *out, ash_error_t *err);

/* Plain-text parsers (return -1 on malformed input); ash_parse_duration, which the CLI
 * uses too, is public (<aftershock/aftershock.h>). */
struct ash_size {
    bool set;
    bool is_percent;
    uint64_t bytes;  /* when !is_percent */
    double fraction; /* 0..1 when is_percent */
};
int ash_parse_size(const char *s, struct ash_size *out); /* "64MiB" "1GiB" "80%" "4096" */
int ash_parse_percent(const char *s, double *fraction);  /* "5%" or "0.05" */
/* Units as tc(8) spells them, compared without case: bit/kbit/mbit/gbit/tbit are bits per
 * second (powers of 1000), kibit..tibit powers of 1024, bps/kbps/mbps/... are BYTES per
 * second (x8). A bare number is rejected: say the unit. */
int ash_parse_rate(const char *s, uint64_t *bits_per_s); /* "1mbit" "50Mbit" "100kbit" "1gbit" "800bit" */
extern const char *const ash_rate_unit_names[];          /* NULL-terminated, lower case */

/* ---- declarative fields ---- */
enum ash_field_type {
    ASH_F_STRING,   /* char * */
    ASH_F_STRLIST,  /* struct ash_strlist (a sequence of strings; a single string is a one-element list) */
    ASH_F_ARGV,     /* struct ash_strlist: a command, sequence of strings, never a shell string */
    ASH_F_DURATION, /* int64_t ns */
    ASH_F_SIZE,     /* struct ash_size */
    ASH_F_RATE,     /* uint64_t bits per second */
    ASH_F_BOOL,     /* bool */
    ASH_F_INT,      /* long long, within [min, max] */
    ASH_F_DOUBLE,   /* double, within [min, max] */
    ASH_F_PERCENT,  /* double fraction 0..1, from "5%" */
    ASH_F_ENUM,     /* int index into choices */
    ASH_F_MAP,      /* embedded struct described by sub; the struct's first member is `bool set` */
    ASH_F_NODE,     /* ash_node kept for the kind's own validate hook */
    ASH_F_TARGET,   /* struct ash_target_ref (scenario/target.h): "host:web", "service:api" or a bare name */
};

struct ash_strlist {
    char **v;
    size_t n;
};

#define ASH_FIELD_REQUIRED 0x1u
/* An old spelling of the (non-deprecated) field at the same offset: still parsed, with a
 * warning naming the new one; giving both is an error. An ASH_F_TARGET one names in
 * choices[0] the target type the old key implied ("host" for `host:`). */
#define ASH_FIELD_DEPRECATED 0x2u

struct ash_field {
    const char *key;
    enum ash_field_type type;
    size_t offset;
    unsigned flags;
    const char *doc;             /* one line, used in schema.json and `aftershock list -v` */
    const char *const *choices;  /* ASH_F_ENUM: NULL-terminated */
    const struct ash_field *sub; /* ASH_F_MAP: fields of the embedded struct, {NULL} terminated */
    double min, max;             /* ASH_F_INT / ASH_F_DOUBLE bounds (both 0: unbounded) */
    unsigned needs;              /* ASH_F_TARGET: capabilities (enum ash_target_cap) the target must have */
};

/* Which keys a field table accepts, as a NULL-terminated array (caller frees the array only). */
const char **ash_fields_keys(const struct ash_field *fields);
/* Fill conf from map using fields (keys not in fields are ignored here: check them
 * with ash_map_check_keys first). Required fields missing: error at the map. */
int ash_fields_parse(const ash_node *map, const struct ash_field *fields, void *conf, ash_error_t *err);
/* Parse one value node into one field of conf. */
int ash_field_parse_value(const ash_node *value, const struct ash_field *f, void *conf, ash_error_t *err);
/* Free what ash_fields_parse allocated (strings, lists, nested maps). */
void ash_fields_free(const struct ash_field *fields, void *conf);

#endif
