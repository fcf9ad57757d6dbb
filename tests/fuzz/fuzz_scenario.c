/* libFuzzer harness: arbitrary bytes as a scenario file through the whole parser and validator. */
#include "scenario/scenario.h"

#include <aftershock/error.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    if (ash_scenario_load_string("fuzz.yaml", (const char *)data, size, &sc, &err) == 0) {
        ash_scenario_free(sc);
        return 0;
    }
    /* The contract on failure: nothing handed out, and a message to act on. */
    if (sc != NULL || err.msg[0] == '\0' || memchr(err.msg, '\0', sizeof err.msg) == NULL)
        __builtin_trap();
    return 0;
}
