/* Demo monitoring for the bundled scenarios: polls a health URL (or several)
 * and, after --after consecutive failures, posts an Alertmanager webhook
 * (version 4, status firing) to --alert-url; when the target answers again it
 * posts the same alert resolved. This is the system's own detection that the
 * `webhook` detector receives, as an operations centre's monitoring would.
 *
 *   healthmon --url URL [--url URL...] --alert-url URL --alertname NAME
 *             [--every MS] [--timeout MS] [--after N] [--summary TEXT]
 *             [--token TOKEN] */
#include "alertpost.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_URLS 8

static const char *urls[MAX_URLS], *alert_url, *alertname = "TargetDown", *summary = "health check failing", *token;
static int n_urls, every_ms = 200, timeout_ms = 150, after = 3;

/* 0 when the URL answered 2xx within the timeout; else a short reason in why. */
static int poll_url(const char *url, char *why, size_t len)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, len, "curl init failed");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ash_demo_discard);
    long code = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(why, len, "%s", curl_easy_strerror(rc));
        return -1;
    }
    if (code < 200 || code > 299) {
        snprintf(why, len, "status %ld", code);
        return -1;
    }
    return 0;
}

static void post_alert(const char *status, const char *url, const char *why, const char *since)
{
    char text[300], result[128];
    snprintf(text, sizeof text, "%s (%s)", summary, why);
    ash_demo_post_alert(alert_url, token, status, alertname, url, text, since, result, sizeof result);
    printf("healthmon: %s %s for %s posted: %s\n", alertname, status, url, result);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--url") == 0 && n_urls < MAX_URLS)
            urls[n_urls++] = v;
        else if (strcmp(k, "--alert-url") == 0)
            alert_url = v;
        else if (strcmp(k, "--alertname") == 0)
            alertname = v;
        else if (strcmp(k, "--summary") == 0)
            summary = v;
        else if (strcmp(k, "--token") == 0)
            token = v;
        else if (strcmp(k, "--every") == 0)
            every_ms = atoi(v);
        else if (strcmp(k, "--timeout") == 0)
            timeout_ms = atoi(v);
        else if (strcmp(k, "--after") == 0)
            after = atoi(v);
        else {
            fprintf(stderr, "usage: healthmon --url URL [--url URL...] --alert-url URL [--alertname NAME] "
                            "[--every MS] [--timeout MS] [--after N] [--summary TEXT] [--token TOKEN]\n");
            return 2;
        }
    }
    if (!n_urls || !alert_url || every_ms < 1 || after < 1) {
        fprintf(stderr, "healthmon: --url and --alert-url are required; --every and --after above 0\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int fails[MAX_URLS] = {0};
    bool firing[MAX_URLS] = {false};
    char since[MAX_URLS][32];
    printf("healthmon: watching %d URL(s) every %d ms, alert %s after %d failures to %s\n", n_urls, every_ms, alertname,
           after, alert_url);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        for (int i = 0; i < n_urls; i++) {
            char why[128] = "";
            if (poll_url(urls[i], why, sizeof why) == 0) {
                if (firing[i])
                    post_alert("resolved", urls[i], "answering again", since[i]);
                fails[i] = 0;
                firing[i] = false;
                continue;
            }
            if (fails[i]++ == 0)
                ash_demo_iso_now(since[i], sizeof since[i]);
            if (fails[i] == after && !firing[i]) {
                firing[i] = true;
                post_alert("firing", urls[i], why, since[i]);
            }
        }
        next.tv_nsec += (long)every_ms * 1000000L;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
}
