/* Probe `http`: one request per sample through libcurl's multi interface, driven by the loop. */
#include "kinds.h"

struct http_conf {
    char *url;
    char *method;
    long long expect_status; /* 0: any 2xx */
    char *body;
    struct ash_strlist headers;
    bool keepalive;
};

static const struct ash_field http_fields[] = {
    {"url", ASH_F_STRING, offsetof(struct http_conf, url), ASH_FIELD_REQUIRED, "URL to request"},
    {"method", ASH_F_STRING, offsetof(struct http_conf, method), 0, "HTTP method (default GET)"},
    {"expect_status", ASH_F_INT, offsetof(struct http_conf, expect_status), 0, "status that counts as ok (default any 2xx)", NULL, NULL, 100, 599},
    {"body", ASH_F_STRING, offsetof(struct http_conf, body), 0, "request body"},
    {"headers", ASH_F_STRLIST, offsetof(struct http_conf, headers), 0, "extra request headers, \"Name: value\""},
    {"keepalive", ASH_F_BOOL, offsetof(struct http_conf, keepalive), 0, "reuse connections between samples (default false: each sample connects)"},
    {NULL}};

const struct ash_probe_kind ash_probe_http = {
    .c = {.name = "http", .summary = "HTTP request; ok when the status matches (libcurl)", .fields = http_fields,
          .conf_size = sizeof(struct http_conf), .shorthand = "url"},
};
