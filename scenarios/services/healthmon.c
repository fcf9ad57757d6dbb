/* Demo monitoring for the bundled scenarios: polls a health URL (or several)
 * and, after --after consecutive failures, posts an Alertmanager webhook
 * (version 4, status firing) to --alert-url; when the target answers again it
 * posts the same alert resolved. This is the system's own detection that the
 * `webhook` detector receives, as an operations centre's monitoring would.
 *
 *   healthmon --url URL [--url URL...] --alert-url URL --alertname NAME
 *             [--every MS] [--timeout MS] [--after N] [--summary TEXT]
 *             [--token TOKEN] */
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

static size_t discard(char *p, size_t s, size_t n, void *arg)
{
    (void)p, (void)arg;
    return s * n;
}

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
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
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

static void iso_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void post_alert(const char *status, const char *url, const char *why, const char *since)
{
    char body[2048], now[32];
    iso_now(now, sizeof now);
    snprintf(body, sizeof body,
             "{\"version\":\"4\",\"status\":\"%s\",\"receiver\":\"aftershock\",\"groupLabels\":{\"alertname\":\"%s\"},"
             "\"alerts\":[{\"status\":\"%s\",\"labels\":{\"alertname\":\"%s\",\"instance\":\"%s\"},"
             "\"annotations\":{\"summary\":\"%s (%s)\"},\"startsAt\":\"%s\",\"endsAt\":\"%s\"}]}",
             status, alertname, status, alertname, url, summary, why, since,
             strcmp(status, "resolved") == 0 ? now : "0001-01-01T00:00:00Z");
    CURL *c = curl_easy_init();
    if (!c)
        return;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[300];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, alert_url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long code = 0;
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    printf("healthmon: %s %s for %s posted: %s, HTTP %ld\n", alertname, status, url, curl_easy_strerror(rc), code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
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
                iso_now(since[i], sizeof since[i]);
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
