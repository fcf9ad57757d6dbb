/* Demo client population for telephony-table-lock: --phones desk phones that
 * each re-register with the registrar every --every ms (POST URL?phone=N), as
 * SIP phones renew their registrations. Spread evenly over the period and
 * one at a time, each request bounded by --timeout: a phone whose request
 * times out simply tries again at its next turn. Prints only changes of state
 * (all registering / some failing), so the run's log stays readable.
 *
 *   phones --url URL [--phones N] [--every MS] [--timeout MS] */
#include "alertpost.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int register_phone(CURL *c, const char *url, int phone, long timeout_ms)
{
    char target[512];
    snprintf(target, sizeof target, "%s?phone=desk-%d", url, phone);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, target);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ash_demo_discard);
    long code = 0;
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code == 200 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    int n = 20, every_ms = 1000, timeout_ms = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--phones") == 0)
            n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--every") == 0)
            every_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout_ms = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: phones --url URL [--phones N] [--every MS] [--timeout MS]\n");
            return 2;
        }
    }
    if (!url || n < 1 || every_ms < 1 || timeout_ms < 1) {
        fprintf(stderr, "phones: --url is required; --phones, --every and --timeout above 0\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    if (!c)
        return 1;
    printf("phones: %d phones re-registering every %d ms at %s\n", n, every_ms, url);
    long long step_ns = (long long)every_ms * 1000000LL / n;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    int failing = 0; /* phones whose last attempt failed */
    bool *failed = calloc((size_t)n, sizeof *failed);
    if (!failed)
        return 1;
    for (int phone = 0;; phone = (phone + 1) % n) {
        bool ok = register_phone(c, url, phone, timeout_ms) == 0;
        if (ok == failed[phone]) {
            failed[phone] = !ok;
            int before = failing;
            failing += ok ? -1 : 1;
            if (before == 0 || failing == 0)
                printf("phones: %s\n", failing ? "registrations failing" : "all phones registering");
        }
        long long ns = next.tv_nsec + step_ns;
        next.tv_sec += (time_t)(ns / 1000000000LL);
        next.tv_nsec = (long)(ns % 1000000000LL);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
            next = now; /* fell behind (timeouts): the next phone goes at once */
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
}
