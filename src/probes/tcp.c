/* Probe `tcp`: a non-blocking connect per sample; ok when the handshake completes. */
#include "kinds.h"

struct tcp_conf {
    char *address;
};

static const struct ash_field tcp_fields[] = {
    {"address", ASH_F_STRING, offsetof(struct tcp_conf, address), ASH_FIELD_REQUIRED, "host:port to connect to"},
    {NULL}};

const struct ash_probe_kind ash_probe_tcp = {
    .c = {.name = "tcp", .summary = "TCP connect; ok when the handshake completes", .fields = tcp_fields,
          .conf_size = sizeof(struct tcp_conf), .shorthand = "address"},
};
