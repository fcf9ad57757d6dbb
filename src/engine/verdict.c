/* Verdict names: shared by the run (one run's verdict) and the API (the worst of all runs). */
#include <aftershock/aftershock.h>

const char *ash_verdict_name(enum ash_verdict v)
{
    switch (v) {
    case ASH_VERDICT_PASS:
        return "pass";
    case ASH_VERDICT_FAIL:
        return "fail";
    case ASH_VERDICT_ABORTED:
        return "aborted";
    case ASH_VERDICT_ERROR:
        return "error";
    }
    return "error";
}
