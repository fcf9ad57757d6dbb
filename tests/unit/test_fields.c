/* Unit tests: durations, sizes, rates, percentages and the declarative field parser. */
#include "scenario/node.h"
#include "sys/clock.h"
#include "test_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------- durations ---------- */

static int64_t dur(const char *s)
{
    int64_t ns = -42;
    ck_assert_msg(ash_parse_duration(s, &ns) == 0, "'%s' should parse", s);
    return ns;
}

START_TEST(test_duration_ok)
{
    ck_assert_int_eq(dur("250ms"), 250 * ASH_NS_PER_MS);
    ck_assert_int_eq(dur("2s"), 2 * ASH_NS_PER_S);
    ck_assert_int_eq(dur("1m30s"), 90 * ASH_NS_PER_S);
    ck_assert_int_eq(dur("1.5s"), 1500 * ASH_NS_PER_MS);
    ck_assert_int_eq(dur("1h"), 3600 * ASH_NS_PER_S);
    ck_assert_int_eq(dur("100us"), 100000);
    ck_assert_int_eq(dur("100\xc2\xb5s"), 100000);
    ck_assert_int_eq(dur("7ns"), 7);
    ck_assert_int_eq(dur("0"), 0);
    ck_assert_int_eq(dur("0s"), 0);
    ck_assert_int_eq(dur(".5s"), 500 * ASH_NS_PER_MS);
    ck_assert_int_eq(dur("1.s"), ASH_NS_PER_S);
    ck_assert_int_eq(dur("0.001ms"), 1000);
    ck_assert_int_eq(dur("1h2m3s4ms5us6ns"), 3723 * ASH_NS_PER_S + 4 * ASH_NS_PER_MS + 5006);
    ck_assert_int_eq(dur("2562047h"), INT64_C(2562047) * 3600 * ASH_NS_PER_S);
}
END_TEST

START_TEST(test_duration_bad)
{
    static const char *const bad[] = {"",         "10",
                                      "1.5",      "s",
                                      "ms",       "1x",
                                      "-1s",      "+1s",
                                      "1 s",      " 1s",
                                      "1s ",      "1.2.3s",
                                      "1sec",     "1S",
                                      "1.5.s",    "..5s",
                                      "1m30",     "99999999999999h",
                                      "2562048h", "18446744073709551616ns"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns = -42;
        ck_assert_msg(ash_parse_duration(bad[i], &ns) < 0, "'%s' should be rejected", bad[i]);
        ck_assert_int_eq(ns, -42);
    }
    ck_assert_int_lt(ash_parse_duration(NULL, NULL), 0);
}
END_TEST

/* ---------- sizes ---------- */

static struct ash_size size(const char *s)
{
    struct ash_size z = {0};
    ck_assert_msg(ash_parse_size(s, &z) == 0, "'%s' should parse", s);
    ck_assert(z.set);
    return z;
}

START_TEST(test_size_ok)
{
    ck_assert_uint_eq(size("64MiB").bytes, UINT64_C(64) << 20);
    ck_assert_uint_eq(size("1GiB").bytes, UINT64_C(1) << 30);
    ck_assert_uint_eq(size("512KiB").bytes, 512 * 1024);
    ck_assert_uint_eq(size("2TiB").bytes, UINT64_C(2) << 40);
    ck_assert_uint_eq(size("4096").bytes, 4096);
    ck_assert_uint_eq(size("0").bytes, 0);
    ck_assert_uint_eq(size("1.5GiB").bytes, UINT64_C(1610612736));
    ck_assert_uint_eq(size("10B").bytes, 10);
    ck_assert_uint_eq(size("3kB").bytes, 3000);
    ck_assert_uint_eq(size("3KB").bytes, 3000);
    ck_assert_uint_eq(size("2MB").bytes, 2000000);
    ck_assert_uint_eq(size("5GB").bytes, UINT64_C(5000000000));
    ck_assert_uint_eq(size("1TB").bytes, UINT64_C(1000000000000));
    struct ash_size p = size("80%");
    ck_assert(p.is_percent);
    ck_assert_double_eq_tol(p.fraction, 0.8, 1e-12);
    ck_assert(!size("80MiB").is_percent);
    ck_assert_double_eq_tol(size("12.5%").fraction, 0.125, 1e-12);
    ck_assert_double_eq_tol(size("100%").fraction, 1.0, 1e-12);
}
END_TEST

START_TEST(test_size_bad)
{
    static const char *const bad[] = {"",
                                      "1.5",
                                      "MiB",
                                      "64mib",
                                      "64mb",
                                      "64 MiB",
                                      "-1",
                                      "1XiB",
                                      "101%",
                                      "64MiB ",
                                      "0x100",
                                      "1e3",
                                      "%",
                                      "64M",
                                      "64Mi",
                                      "20000000TiB",
                                      "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ash_size z = {0};
        ck_assert_msg(ash_parse_size(bad[i], &z) < 0, "'%s' should be rejected", bad[i]);
        ck_assert(!z.set);
    }
}
END_TEST

/* ---------- rates (tc semantics) ---------- */

static uint64_t rate(const char *s)
{
    uint64_t r = 0;
    ck_assert_msg(ash_parse_rate(s, &r) == 0, "'%s' should parse", s);
    return r;
}

START_TEST(test_rate_ok)
{
    ck_assert_uint_eq(rate("1mbit"), 1000000);
    ck_assert_uint_eq(rate("50Mbit"), 50000000);
    ck_assert_uint_eq(rate("100kbit"), 100000);
    ck_assert_uint_eq(rate("1gbit"), 1000000000);
    ck_assert_uint_eq(rate("800bit"), 800);
    ck_assert_uint_eq(rate("2tbit"), UINT64_C(2000000000000));
    ck_assert_uint_eq(rate("1.5mbit"), 1500000);
    /* mbps is megaBYTES per second, as in tc(8). */
    ck_assert_uint_eq(rate("10mbps"), 80000000);
    ck_assert_uint_eq(rate("10MBps"), 80000000);
    ck_assert_uint_eq(rate("1bps"), 8);
    ck_assert_uint_eq(rate("1kbps"), 8000);
    ck_assert_uint_eq(rate("1gbps"), UINT64_C(8000000000));
    ck_assert_uint_eq(rate("1kibit"), 1024);
    ck_assert_uint_eq(rate("1Mibit"), 1048576);
    ck_assert_uint_eq(rate("1gibit"), UINT64_C(1) << 30);
    ck_assert_uint_eq(rate("1kibps"), 8192);
    ck_assert_uint_eq(rate("1mibps"), UINT64_C(8) << 20);
}
END_TEST

START_TEST(test_rate_bad)
{
    static const char *const bad[] = {"",       "100",    "mbit", "1mb",    "-1mbit",
                                      "1 mbit", "1mbits", "1.5",  "1kbits", "99999999999tbps"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t r = 7;
        ck_assert_msg(ash_parse_rate(bad[i], &r) < 0, "'%s' should be rejected", bad[i]);
        ck_assert_uint_eq(r, 7);
    }
}
END_TEST

/* ---------- percentages ---------- */

START_TEST(test_percent)
{
    double f = -1;
    ck_assert_int_eq(ash_parse_percent("5%", &f), 0);
    ck_assert_double_eq_tol(f, 0.05, 1e-12);
    ck_assert_int_eq(ash_parse_percent("0.05", &f), 0);
    ck_assert_double_eq_tol(f, 0.05, 1e-12);
    ck_assert_int_eq(ash_parse_percent("100%", &f), 0);
    ck_assert_double_eq_tol(f, 1.0, 1e-12);
    ck_assert_int_eq(ash_parse_percent("0", &f), 0);
    ck_assert_double_eq_tol(f, 0.0, 1e-12);
    ck_assert_int_eq(ash_parse_percent("1", &f), 0);
    ck_assert_double_eq_tol(f, 1.0, 1e-12);
    ck_assert_int_eq(ash_parse_percent("0.5%", &f), 0);
    ck_assert_double_eq_tol(f, 0.005, 1e-12);
    static const char *const bad[] = {"", "5", "101%", "1.01", "%", "abc", "-5%", "5 %", "5%%", "0x1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = -1;
        ck_assert_msg(ash_parse_percent(bad[i], &f) < 0, "'%s' should be rejected", bad[i]);
        ck_assert_double_eq(f, -1);
    }
}
END_TEST

/* ---------- suggestions ---------- */

START_TEST(test_nearest_word)
{
    static const char *const keys[] = {"name", "from", "every", "timeout", NULL};
    static const char *const kinds[] = {"http", "tcp", "exec", NULL};
    ck_assert_str_eq(ash_nearest_word("evrey", keys, kinds), "every");
    ck_assert_str_eq(ash_nearest_word("tiemout", keys, kinds), "timeout");
    ck_assert_str_eq(ash_nearest_word("htp", keys, kinds), "http");
    ck_assert_str_eq(ash_nearest_word("nmae", keys, NULL), "name");
    ck_assert_ptr_null(ash_nearest_word("webhook", keys, kinds));
    ck_assert_ptr_null(ash_nearest_word("x", keys, kinds));
    ck_assert_ptr_null(ash_nearest_word("every", NULL, NULL));
    /* A unique prefix of three or more letters is a hint too. */
    static const char *const expect_keys[] = {"stable_for", "detect_within", "timeout", "warmup", NULL};
    ck_assert_str_eq(ash_nearest_word("stable", expect_keys, NULL), "stable_for");
    ck_assert_str_eq(ash_nearest_word("detect", expect_keys, NULL), "detect_within");
    ck_assert_ptr_null(ash_nearest_word("de", expect_keys, NULL));
    static const char *const two[] = {"probe_alpha", "probe_beta", NULL};
    ck_assert_ptr_null(ash_nearest_word("probe", two, NULL));
}
END_TEST

/* ---------- the field parser ---------- */

struct inner {
    bool set;
    char *path;
    long long depth;
};

struct conf {
    char *s;
    struct ash_strlist list;
    struct ash_strlist argv;
    int64_t d;
    struct ash_size size;
    uint64_t rate;
    bool b;
    long long i;
    double x;
    double pct;
    int e;
    struct inner in;
    ash_node node;
};

static const char *const colours[] = {"red", "green", "blue", NULL};

static const struct ash_field inner_fields[] = {
    {"path", ASH_F_STRING, offsetof(struct inner, path), ASH_FIELD_REQUIRED, "a path"},
    {"depth", ASH_F_INT, offsetof(struct inner, depth), 0, "depth", NULL, NULL, 1, 9},
    {NULL}};

static const struct ash_field fields[] = {
    {"s", ASH_F_STRING, offsetof(struct conf, s), ASH_FIELD_REQUIRED, "string"},
    {"list", ASH_F_STRLIST, offsetof(struct conf, list), 0, "list"},
    {"argv", ASH_F_ARGV, offsetof(struct conf, argv), 0, "argv"},
    {"d", ASH_F_DURATION, offsetof(struct conf, d), 0, "duration"},
    {"size", ASH_F_SIZE, offsetof(struct conf, size), 0, "size"},
    {"rate", ASH_F_RATE, offsetof(struct conf, rate), 0, "rate"},
    {"b", ASH_F_BOOL, offsetof(struct conf, b), 0, "bool"},
    {"i", ASH_F_INT, offsetof(struct conf, i), 0, "int", NULL, NULL, -5, 5},
    {"x", ASH_F_DOUBLE, offsetof(struct conf, x), 0, "double", NULL, NULL, 0, 2.5},
    {"pct", ASH_F_PERCENT, offsetof(struct conf, pct), 0, "percent"},
    {"e", ASH_F_ENUM, offsetof(struct conf, e), 0, "colour", colours},
    {"in", ASH_F_MAP, offsetof(struct conf, in), 0, "nested", NULL, inner_fields},
    {"node", ASH_F_NODE, offsetof(struct conf, node), 0, "raw"},
    {NULL}};

static ash_doc *load(const char *text)
{
    ash_doc *doc = NULL;
    ash_error_t err = {0};
    int r = ash_doc_load_string("t.yaml", text, strlen(text), &doc, &err);
    ck_assert_msg(r == 0, "load failed: %s", err.msg);
    return doc;
}

/* Parse text with the test table; return 0 or -1 with the message in msg. */
static int parse(const char *text, struct conf *c, char *msg, size_t len, ash_doc **docp)
{
    ash_doc *doc = load(text);
    ash_node root = ash_doc_root(doc);
    ash_error_t err = {0};
    memset(c, 0, sizeof *c);
    const char **keys = ash_fields_keys(fields);
    ck_assert_ptr_nonnull(keys);
    int r = ash_map_check_keys(&root, "test 'x'", keys, NULL, &err);
    free(keys);
    if (r == 0)
        r = ash_fields_parse(&root, fields, c, &err);
    if (r < 0) {
        ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
        snprintf(msg, len, "%s", err.msg);
        ash_fields_free(fields, c);
        ash_doc_free(doc);
        return -1;
    }
    *docp = doc;
    return 0;
}

START_TEST(test_fields_all_types)
{
    struct conf c;
    char msg[1024];
    ash_doc *doc;
    int r = parse("s: hello\n"
                  "list: one\n"
                  "argv: [sleep, 1]\n"
                  "d: 1m30s\n"
                  "size: 64MiB\n"
                  "rate: 50mbit\n"
                  "b: true\n"
                  "i: -3\n"
                  "x: 2.5\n"
                  "pct: 5%\n"
                  "e: blue\n"
                  "in: { path: /tmp, depth: 2 }\n"
                  "node: { anything: [1, 2] }\n",
                  &c, msg, sizeof msg, &doc);
    ck_assert_msg(r == 0, "%s", msg);
    ck_assert_str_eq(c.s, "hello");
    ck_assert_uint_eq(c.list.n, 1);
    ck_assert_str_eq(c.list.v[0], "one");
    ck_assert_ptr_null(c.list.v[1]);
    ck_assert_uint_eq(c.argv.n, 2);
    ck_assert_str_eq(c.argv.v[0], "sleep");
    ck_assert_str_eq(c.argv.v[1], "1"); /* an unquoted number reads as its text */
    ck_assert_ptr_null(c.argv.v[2]);    /* argv-ready */
    ck_assert_int_eq(c.d, 90 * ASH_NS_PER_S);
    ck_assert_uint_eq(c.size.bytes, UINT64_C(64) << 20);
    ck_assert_uint_eq(c.rate, 50000000);
    ck_assert(c.b);
    ck_assert_int_eq(c.i, -3);
    ck_assert_double_eq(c.x, 2.5);
    ck_assert_double_eq_tol(c.pct, 0.05, 1e-12);
    ck_assert_int_eq(c.e, 2);
    ck_assert(c.in.set);
    ck_assert_str_eq(c.in.path, "/tmp");
    ck_assert_int_eq(c.in.depth, 2);
    ck_assert(ash_node_is_map(&c.node));
    ash_node any = ash_map_get(&c.node, "anything");
    ck_assert_uint_eq(ash_seq_len(&any), 2);
    struct ash_loc loc = ash_node_loc(&any);
    ck_assert_int_eq(loc.line, 13);
    ck_assert_int_eq(loc.col, 19);
    ash_fields_free(fields, &c);
    ck_assert_ptr_null(c.s);
    ck_assert_ptr_null(c.in.path);
    ck_assert_uint_eq(c.argv.n, 0);
    ash_doc_free(doc);
}
END_TEST

/* Each error: YAML text and the exact message. */
static const struct {
    const char *text;
    const char *msg;
} field_errors[] = {
    {"list: [a]\n", "t.yaml:1:1: missing required key 's'"},
    {"s: x\nsze: 1\n", "t.yaml:2:1: unknown key 'sze' in test 'x' (did you mean 'size'?)"},
    {"s: x\nzzzzzz: 1\n",
     "t.yaml:2:1: unknown key 'zzzzzz' in test 'x' (valid keys: s, list, argv, d, size, rate, b, i, x, pct, e, in, "
     "node)"},
    {"s: [a]\n", "t.yaml:1:4: expected a string, got a sequence"},
    {"s:\n", "t.yaml:1:3: expected a string, got nothing (an empty value)"},
    {"s: ~\n", "t.yaml:1:4: expected a string, got nothing (an empty value)"},
    {"s: x\nlist: {a: b}\n", "t.yaml:2:7: expected a string or a list of strings, got a mapping"},
    {"s: x\nlist: [a, [b]]\n", "t.yaml:2:11: expected a string, got a sequence"},
    {"s: x\nargv: sleep 1\n",
     "t.yaml:2:7: a command is an argv list such as [\"sleep\", \"1\"], not a shell string; write [\"sh\", \"-c\", "
     "\"...\"] to use a shell"},
    {"s: x\nargv: []\n", "t.yaml:2:7: a command needs at least the program to run"},
    {"s: x\nd: 10\n",
     "t.yaml:2:4: bad duration '10': use a number with a unit (ns, us, ms, s, m, h), e.g. 250ms, 1.5s or 1m30s; "
     "only 0 goes without"},
    {"s: x\nd: {a: 1}\n", "t.yaml:2:4: expected a duration such as 250ms or 1m30s, got a mapping"},
    {"s: x\nsize: 64mb\n",
     "t.yaml:2:7: bad size '64mb': use bytes (4096), a number with a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), "
     "e.g. 64MiB or 1.5GiB, or a percentage such as 80%"},
    {"s: x\nrate: 100\n",
     "t.yaml:2:7: bad rate '100': use a number with a unit as tc does: bit, kbit, mbit, gbit, tbit (bits/s), kibit, "
     "mibit, gibit, tibit (1024-based bits/s), bps, kbps, mbps, gbps, tbps, kibps, mibps, gibps, tibps (bytes/s), "
     "e.g. 50mbit"},
    {"s: x\nb: maybe\n", "t.yaml:2:4: expected true or false (yes/no and on/off read the same), got 'maybe'"},
    {"s: x\nb: y\n", "t.yaml:2:4: expected true or false (yes/no and on/off read the same), got 'y'"},
    {"s: x\nb: oN\n", "t.yaml:2:4: expected true or false (yes/no and on/off read the same), got 'oN'"},
    {"s: x\nb: \"true\"\n", "t.yaml:2:4: expected true or false, got the quoted string \"true\" (remove the quotes)"},
    {"s: x\ni: 6\n", "t.yaml:2:4: 6 is out of range (-5..5)"},
    {"s: x\ni: 1.5\n", "t.yaml:2:4: expected an integer, got '1.5'"},
    {"s: x\nx: 3\n", "t.yaml:2:4: 3 is out of range (0..2.5)"},
    {"s: x\nx: nan\n", "t.yaml:2:4: expected a number, got 'nan'"},
    {"s: x\npct: 150%\n", "t.yaml:2:6: bad percentage '150%': use 0%..100% or a fraction 0..1, e.g. 5% or 0.05"},
    {"s: x\ne: bleu\n", "t.yaml:2:4: 'bleu' is not a valid e (did you mean 'blue'? one of: red, green, blue)"},
    {"s: x\ne: purple\n", "t.yaml:2:4: 'purple' is not a valid e (one of: red, green, blue)"},
    {"s: x\nin: /tmp\n", "t.yaml:2:5: expected a mapping for 'in', got a scalar"},
    {"s: x\nin: { depth: 1 }\n", "t.yaml:2:5: missing required key 'path'"},
    {"s: x\nin: { path: a, dpeth: 1 }\n", "t.yaml:2:16: unknown key 'dpeth' in 'in' (did you mean 'depth'?)"},
};

/* Every boolean field reads YAML 1.1's yes/no and on/off as YAML 1.2's true/false do
 * (users write `all: yes`), in the three casings YAML allows, and nothing else. */
START_TEST(test_bool_words)
{
    static const struct {
        const char *word;
        bool value;
    } words[] = {{"true", true}, {"True", true}, {"TRUE", true}, {"yes", true},    {"Yes", true},    {"YES", true},
                 {"on", true},   {"On", true},   {"ON", true},   {"false", false}, {"False", false}, {"FALSE", false},
                 {"no", false},  {"No", false},  {"NO", false},  {"off", false},   {"Off", false},   {"OFF", false}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        struct conf c;
        char text[64], msg[1024];
        ash_doc *doc;
        snprintf(text, sizeof text, "s: x\nb: %s\n", words[i].word);
        ck_assert_msg(parse(text, &c, msg, sizeof msg, &doc) == 0, "%s: %s", words[i].word, msg);
        ck_assert_msg(c.b == words[i].value, "%s read as %d", words[i].word, c.b);
        ash_fields_free(fields, &c);
        ash_doc_free(doc);
    }
}
END_TEST

START_TEST(test_fields_errors)
{
    struct conf c;
    char msg[1024];
    ash_doc *doc;
    const char *text = field_errors[_i].text;
    ck_assert_msg(parse(text, &c, msg, sizeof msg, &doc) < 0, "accepted: %s", text);
    ck_assert_str_eq(msg, field_errors[_i].msg);
}
END_TEST

/* ---------- documents ---------- */

static void doc_error(const char *text, const char *want)
{
    ash_doc *doc = (ash_doc *)1;
    ash_error_t err = {0};
    ck_assert_int_lt(ash_doc_load_string("d.yaml", text, strlen(text), &doc, &err), 0);
    ck_assert_ptr_null(doc);
    ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
    ck_assert_str_eq(err.msg, want);
}

START_TEST(test_doc_errors)
{
    doc_error("a: 1\nb: [1, 2\n", "d.yaml:3:1: did not find expected ',' or ']' (while parsing a flow sequence at "
                                  "line 2)");
    doc_error("a: b: c\n", "d.yaml:1:5: mapping values are not allowed in this context");
    doc_error("a: 1\nb: 2\na: 3\n", "d.yaml:3:1: duplicate key 'a' (first at line 1)");
    doc_error("x:\n  - {k: 1, k: 2}\n", "d.yaml:2:12: duplicate key 'k' (first at line 2)");
    doc_error("a: &anchor 1\nb: *anchor\n",
              "d.yaml:1:4: YAML anchors and aliases (&anchor, *anchor) are not supported: write the value out");
    doc_error("a: 1\n---\nb: 2\n", "d.yaml:2:1: a scenario file holds one YAML document, this is a second one");
    doc_error("? [a]\n: 1\n", "d.yaml:1:3: a key must be a plain string, not a sequence");
}
END_TEST

START_TEST(test_doc_positions)
{
    ash_doc *doc = load("# comment\nprobes:\n  - name: web\n    every: 50ms\n");
    ash_node root = ash_doc_root(doc);
    ash_node probes = ash_map_get(&root, "probes");
    ck_assert_uint_eq(ash_seq_len(&probes), 1);
    ash_node p = ash_seq_at(&probes, 0);
    ash_node every = ash_map_get(&p, "every"), key = ash_map_key(&p, "every");
    ck_assert_str_eq(ash_node_text(&every), "50ms");
    struct ash_loc l = ash_node_loc(&every);
    ck_assert_str_eq(l.file, "t.yaml");
    ck_assert_int_eq(l.line, 4);
    ck_assert_int_eq(l.col, 12);
    l = ash_node_loc(&key);
    ck_assert_int_eq(l.line, 4);
    ck_assert_int_eq(l.col, 5);
    ash_node missing = ash_map_get(&p, "nope");
    ck_assert(!ash_node_ok(&missing));
    ck_assert_uint_eq(ash_map_size(&p), 2);
    ck_assert_ptr_null(ash_node_text(&p));
    ash_node at = ash_node_at(&p, "name"), self = ash_node_at(&every, "name");
    ck_assert_str_eq(ash_node_text(&at), "web");
    ck_assert_ptr_eq(self.y, every.y);
    ash_error_t err = {0};
    ck_assert_int_lt(ash_node_fail(&missing, &err, "gone %d", 1), 0);
    ck_assert_str_eq(err.msg, "t.yaml: gone 1");
    ash_doc_free(doc);
}
END_TEST

START_TEST(test_doc_file)
{
    ash_doc *doc = NULL;
    ash_error_t err = {0};
    ck_assert_int_lt(ash_doc_load_file("/nonexistent/x.yaml", &doc, &err), 0);
    ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
    ck_assert_str_eq(err.msg, "cannot open scenario '/nonexistent/x.yaml': No such file or directory");
    char path[] = "/tmp/ash-test-fields-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "a: [1, 2]\n", 10), 10);
    close(fd);
    int r = ash_doc_load_file(path, &doc, &err);
    unlink(path);
    ck_assert_msg(r == 0, "%s", err.msg);
    ck_assert_str_eq(ash_doc_file(doc), path);
    ash_node root = ash_doc_root(doc), a = ash_map_get(&root, "a");
    ck_assert_uint_eq(ash_seq_len(&a), 2);
    ash_doc_free(doc);
    /* An empty document loads, with no root. */
    doc = load("");
    root = ash_doc_root(doc);
    ck_assert(!ash_node_ok(&root));
    ash_doc_free(doc);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fields");
    TCase *t = tcase_create("units");
    tcase_add_test(t, test_duration_ok);
    tcase_add_test(t, test_duration_bad);
    tcase_add_test(t, test_size_ok);
    tcase_add_test(t, test_size_bad);
    tcase_add_test(t, test_rate_ok);
    tcase_add_test(t, test_rate_bad);
    tcase_add_test(t, test_percent);
    tcase_add_test(t, test_nearest_word);
    suite_add_tcase(s, t);
    t = tcase_create("fields");
    tcase_add_test(t, test_fields_all_types);
    tcase_add_test(t, test_bool_words);
    tcase_add_loop_test(t, test_fields_errors, 0, (int)(sizeof field_errors / sizeof field_errors[0]));
    suite_add_tcase(s, t);
    t = tcase_create("documents");
    tcase_add_test(t, test_doc_errors);
    tcase_add_test(t, test_doc_positions);
    tcase_add_test(t, test_doc_file);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
