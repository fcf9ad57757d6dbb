/* Docker Engine API client over a unix socket (libcurl CURLOPT_UNIX_SOCKET_PATH + jansson). */
#include "env/docker.h"
#include "sys/gil.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The API version asked for: Docker 20.10+ and Podman 3+ answer it with the fields used here. */
#define API_PREFIX "/v1.41"

struct ash_docker {
    CURL *curl;
    /* A call waits for the engine (a restart: the container's stop and start) with
     * the run lock let go, so the probes keep their clock; the handle itself is
     * this lock's, should the loop thread call through the same client meanwhile. */
    pthread_mutex_t mu;
    char socket[108];
    long timeout_ms; /* 0: the defaults below */
};

struct buf {
    char *data;
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t n = size * nmemb;
    /* An answer larger than this is not one aftershock asked for. */
    if (b->len + n > 16u << 20)
        return 0;
    char *nd = realloc(b->data, b->len + n + 1);
    if (!nd)
        return 0;
    memcpy(nd + b->len, ptr, n);
    b->data = nd;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int ash_docker_open(const char *host, struct ash_docker **out, ash_error_t *err)
{
    *out = NULL;
    if (!host || !*host)
        host = getenv("DOCKER_HOST");
    if (!host || !*host)
        host = ASH_DOCKER_DEFAULT_HOST;
    if (strncmp(host, "unix://", 7) != 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EPROTONOSUPPORT,
                               "container engine at '%s': aftershock reaches it only over a unix socket (unix:///PATH)",
                               host);
    const char *path = host + 7;
    if (strlen(path) >= sizeof((struct ash_docker *)0)->socket)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENAMETOOLONG, "container engine socket %s: path too long",
                               path);
    struct stat st;
    if (stat(path, &st) < 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, errno,
                               "container engine socket %s (is the Docker or Podman service running? set "
                               "runtime.docker_host or DOCKER_HOST)",
                               path);
    if (!S_ISSOCK(st.st_mode))
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSOCK, "container engine socket %s is not a socket", path);
    if (access(path, R_OK | W_OK) < 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, errno,
                               "container engine socket %s (root or the socket's group is needed)", path);
    struct ash_docker *d = calloc(1, sizeof *d);
    if (!d)
        return ash_error(err, ENOMEM, "docker client");
    snprintf(d->socket, sizeof d->socket, "%s", path);
    pthread_mutex_init(&d->mu, NULL);
    if (!(d->curl = curl_easy_init())) {
        pthread_mutex_destroy(&d->mu);
        free(d);
        return ash_error(err, ENOMEM, "cannot create a libcurl handle");
    }
    *out = d;
    return 0;
}

void ash_docker_close(struct ash_docker *d)
{
    if (!d)
        return;
    curl_easy_cleanup(d->curl);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void ash_docker_set_timeout(struct ash_docker *d, long ms)
{
    d->timeout_ms = ms;
}

const char *ash_docker_socket(const struct ash_docker *d)
{
    return d->socket;
}

char *ash_docker_escape(struct ash_docker *d, const char *s)
{
    char *e = curl_easy_escape(d->curl, s, 0);
    char *r = e ? strdup(e) : NULL;
    curl_free(e);
    return r;
}

void *ash_docker_stream(struct ash_docker *d, const char *path)
{
    char url[2048];
    snprintf(url, sizeof url, "http://localhost" API_PREFIX "%s", path);
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    return c;
}

int ash_docker_call(struct ash_docker *d, const char *method, const char *path, json_t *body, json_t **out,
                    ash_error_t *err)
{
    if (out)
        *out = NULL;
    char url[2048];
    snprintf(url, sizeof url, "http://localhost" API_PREFIX "%s", path);
    char *req = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct buf b = {0};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *c = d->curl;
    pthread_mutex_lock(&d->mu);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, d->timeout_ms ? d->timeout_ms : 5000L);
    /* A restart waits for the container to stop: give it its grace period and more. */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, d->timeout_ms ? d->timeout_ms : 60000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req ? req : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(req ? strlen(req) : 0));
    }
    /* The wait touches only this call's buffers and this client's handle (its lock):
     * on the offloop worker the run lock is let go meanwhile (sys/gil.h). The handle's
     * lock is let go before the run lock is taken back, never the other way round. */
    ash_gil_blocking_begin();
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    pthread_mutex_unlock(&d->mu);
    ash_gil_blocking_end();
    curl_slist_free_all(hdr);
    free(req);
    int ret = 0;
    if (rc == CURLE_COULDNT_CONNECT) {
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, ECONNREFUSED,
                              "cannot connect to the container engine socket %s (is its daemon running?)", d->socket);
        goto out;
    }
    if (rc != CURLE_OK) {
        ret = ash_error(err, EIO, "container engine (%s): %s %s: %s", d->socket, method, path, curl_easy_strerror(rc));
        goto out;
    }
    json_t *j = b.len ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    if (status >= 400) {
        const char *msg = json_string_value(json_object_get(j, "message"));
        int code = status == 404 ? ENOENT : status == 409 ? EBUSY : EIO;
        ret = ash_error(err, 0, "container engine: %s %s: %ld %s", method, path, status,
                        msg ? msg : (b.data ? b.data : ""));
        if (err)
            err->code = code;
        json_decref(j);
        goto out;
    }
    if (out)
        *out = j;
    else
        json_decref(j);
out:
    free(b.data);
    return ret;
}
