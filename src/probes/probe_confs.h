/* Configuration structs of the probe kinds, shared by each kind's field table and the unit tests. */
#ifndef ASH_PROBES_PROBE_CONFS_H
#define ASH_PROBES_PROBE_CONFS_H

#include "scenario/node.h"

#include <stdbool.h>

/* `http`: filled from http_fields in probes/http.c. */
struct ash_http_conf {
    char *url;
    char *method;               /* NULL: GET */
    long long expect_status;    /* 0: any 2xx */
    char *body;                 /* NULL: no body */
    struct ash_strlist headers; /* "Name: value" */
    bool keepalive;             /* false: every sample opens a new connection */
};

/* `tcp`: filled from tcp_fields in probes/tcp.c. */
struct ash_tcp_conf {
    char *address; /* "host:port" or "[v6]:port" */
};

/* `exec`: filled from exec_probe_fields in probes/exec.c. */
struct ash_exec_probe_conf {
    struct ash_strlist command; /* argv; exit 0 = ok */
};

/* `sql`: filled from sql_fields in probes/sql.c. */
struct ash_sql_conf {
    char *sqlite;
    char *postgres;
    char *query;
};

#endif
