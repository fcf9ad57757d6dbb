/* Demo client population for telephony-table-lock: --phones desk phones, each
 * re-registering with the registrar every --every ms (POST URL?phone=desk-N),
 * as SIP phones renew their registrations before they expire. Each phone is
 * its own thread, started at an even offset over the period; a request is
 * bounded by --timeout (a SIP transaction's timeout). A phone whose
 * registration failed retries as SIP user agents do (RFC 5626, section 4.5):
 * after min(--retry-max, --retry-base * 2^failures), randomised to 50-100%
 * of it, so after a long outage the phones come back one by one over many
 * minutes, not at once. Without --retry-base a failed phone tries again at
 * its next period. Prints only changes of state (all registering / some
 * failing), so the run's log stays readable.
 *
 *   phones --url URL [--phones N] [--every MS] [--timeout MS]
 *          [--retry-base MS --retry-max MS] */
#include "alertpost.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *url;
static int n = 20, every_ms = 1000, timeout_ms = 300, retry_base_ms, retry_max_ms;
static int failing; /* phones whose last attempt failed */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int register_phone(CURL *c, int phone)
{
    char target[512];
    snprintf(target, sizeof target, "%s?phone=desk-%d", url, phone);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, target);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ash_demo_discard);
    long code = 0;
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code == 200 ? 0 : -1;
}

static void add_ms(struct timespec *t, long long ms)
{
    long long ns = t->tv_nsec + ms % 1000 * 1000000LL;
    t->tv_sec += (time_t)(ms / 1000 + ns / 1000000000LL);
    t->tv_nsec = (long)(ns % 1000000000LL);
}

/* How long a phone waits after its k-th failure in a row (k from 0). */
static long long retry_ms(int k, unsigned *seed)
{
    if (retry_base_ms <= 0)
        return every_ms;
    long long w = retry_base_ms;
    for (int i = 0; i < k && w < retry_max_ms; i++)
        w *= 2;
    if (w > retry_max_ms)
        w = retry_max_ms;
    return w / 2 + (long long)(rand_r(seed) % (unsigned)(w / 2 + 1));
}

static void *phone_main(void *arg)
{
    int phone = (int)(long)arg;
    unsigned seed = (unsigned)phone * 2654435761u + 1u;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    add_ms(&next, (long long)every_ms * phone / n);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    bool failed = false;
    int failures = 0;
    for (;;) {
        bool ok = register_phone(c, phone) == 0;
        if (ok == failed) {
            pthread_mutex_lock(&mu);
            int before = failing;
            failing += ok ? -1 : 1;
            if (before == 0 || failing == 0)
                printf("phones: %s\n", failing ? "registrations failing" : "all phones registering");
            pthread_mutex_unlock(&mu);
            failed = !ok;
        }
        failures = ok ? 0 : failures + 1;
        /* Renewals keep their period; a retry counts from the failure. */
        if (!ok)
            clock_gettime(CLOCK_MONOTONIC, &next);
        add_ms(&next, ok ? every_ms : retry_ms(failures - 1, &seed));
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
            next = now; /* fell behind (a slow answer): go at once */
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--phones") == 0)
            n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--every") == 0)
            every_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--retry-base") == 0)
            retry_base_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--retry-max") == 0)
            retry_max_ms = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: phones --url URL [--phones N] [--every MS] [--timeout MS] "
                            "[--retry-base MS --retry-max MS]\n");
            return 2;
        }
    }
    if (!url || n < 1 || n > 1000 || every_ms < 1 || timeout_ms < 1 || retry_base_ms < 0 ||
        (retry_base_ms > 0 && retry_max_ms < retry_base_ms)) {
        fprintf(stderr, "phones: --url is required; --phones 1..1000; --every and --timeout above 0; "
                        "--retry-max at least --retry-base\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    printf("phones: %d phones re-registering every %d ms at %s", n, every_ms, url);
    if (retry_base_ms)
        printf(", retrying after %d ms doubling to %d ms", retry_base_ms, retry_max_ms);
    printf("\n");
    pthread_t t;
    for (int p = 0; p < n; p++)
        if (pthread_create(&t, NULL, phone_main, (void *)(long)p) != 0) {
            fprintf(stderr, "phones: cannot start phone %d\n", p);
            return 1;
        }
    pthread_exit(NULL);
}
