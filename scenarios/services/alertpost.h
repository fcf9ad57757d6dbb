/* Shared by the demo services' own monitoring: post one alert in Prometheus
 * Alertmanager's webhook format (version 4) to aftershock's `webhook`
 * detector, as a real alerting pipeline would. Header-only because every demo
 * service is a single-file program (scenarios/services/CMakeLists.txt). */
#ifndef ASH_DEMO_ALERTPOST_H
#define ASH_DEMO_ALERTPOST_H

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static inline size_t ash_demo_discard(char *p, size_t s, size_t n, void *arg)
{
    (void)p, (void)arg;
    return s * n;
}

/* RFC 3339 with nanoseconds, as Alertmanager writes startsAt: a whole-second
 * stamp could fall before the fault the condition followed. */
static inline void ash_demo_iso_now(char *buf, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char date[40];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%09ldZ", date, (long)ts.tv_nsec);
}

/* status: "firing" or "resolved"; since: when the condition began (ISO 8601).
 * Writes "HTTP 200" or the transport error into result. */
static inline void ash_demo_post_alert(const char *url, const char *token, const char *status, const char *alertname,
                                       const char *instance, const char *summary, const char *since, char *result,
                                       size_t len)
{
    char body[2048], now[32];
    ash_demo_iso_now(now, sizeof now);
    snprintf(body, sizeof body,
             "{\"version\":\"4\",\"status\":\"%s\",\"receiver\":\"aftershock\",\"groupLabels\":{\"alertname\":\"%s\"},"
             "\"alerts\":[{\"status\":\"%s\",\"labels\":{\"alertname\":\"%s\",\"instance\":\"%s\"},"
             "\"annotations\":{\"summary\":\"%s\"},\"startsAt\":\"%s\",\"endsAt\":\"%s\"}]}",
             status, alertname, status, alertname, instance, summary, since,
             strcmp(status, "resolved") == 0 ? now : "0001-01-01T00:00:00Z");
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(result, len, "curl init failed");
        return;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[300];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ash_demo_discard);
    long code = 0;
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK)
        snprintf(result, len, "HTTP %ld", code);
    else
        snprintf(result, len, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

#endif
