/* Detector `probes`: the steady state broken (N consecutive failures, or an error ratio over a window). */
#include "kinds.h"

struct probes_det_conf {
    long long consecutive_failures;
    double error_ratio;
    int64_t window_ns;
    struct ash_strlist probes;
};

static const struct ash_field probes_det_fields[] = {
    {"consecutive_failures", ASH_F_INT, offsetof(struct probes_det_conf, consecutive_failures), 0, "failed samples in a row of one probe (default 3)", NULL, NULL, 1, 1000000},
    {"error_ratio", ASH_F_PERCENT, offsetof(struct probes_det_conf, error_ratio), 0, "or: share of failed samples over `window`"},
    {"window", ASH_F_DURATION, offsetof(struct probes_det_conf, window_ns), 0, "window for error_ratio (default 5s)"},
    {"probes", ASH_F_STRLIST, offsetof(struct probes_det_conf, probes), 0, "probe names to watch (default all)"},
    {NULL}};

const struct ash_detector_kind ash_detector_probes = {
    .c = {.name = "probes", .summary = "steady state broken: N consecutive failed samples or an error ratio", .fields = probes_det_fields,
          .conf_size = sizeof(struct probes_det_conf)},
};
