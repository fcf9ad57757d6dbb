/* A minimal Docker Engine API client: HTTP over the engine's unix socket, JSON in and out.
 *
 * One job: send a request, return the status and the JSON answer, or an error carrying
 * the engine's own message. It knows nothing of targets; env/target_container.c decides
 * what to ask. Podman answers the same API on its Docker-compatible socket. */
#ifndef ASH_ENV_DOCKER_H
#define ASH_ENV_DOCKER_H

#include <aftershock/error.h>
#include <jansson.h>

#define ASH_DOCKER_DEFAULT_HOST "unix:///var/run/docker.sock"

struct ash_docker;

/* host: "unix:///path"; NULL: $DOCKER_HOST, else the default socket. Checks that the
 * socket exists and is writable: when not, an ASH_ERR_ENVIRONMENT error naming it. */
int ash_docker_open(const char *host, struct ash_docker **out, ash_error_t *err);
void ash_docker_close(struct ash_docker *d);
/* Give up on each call after ms (connect and answer; 0: the defaults, 5 s to connect
 * and 60 s in all): for a question that only makes a message better. */
void ash_docker_set_timeout(struct ash_docker *d, long ms);
/* The socket's path, for messages. */
const char *ash_docker_socket(const struct ash_docker *d);
/* METHOD path ("/containers/web/json"; the API version is prefixed here), body may be
 * NULL. *out (may be NULL) receives the parsed answer or NULL when it had none.
 * A status >= 400 is an error with the engine's "message"; err->code is ENOENT for
 * 404, EBUSY for 409, EIO otherwise. Failing to reach the socket is ASH_ERR_ENVIRONMENT. */
int ash_docker_call(struct ash_docker *d, const char *method, const char *path, json_t *body, json_t **out,
                    ash_error_t *err);
/* A new easy handle for a long-lived GET of path (a log stream), set up to reach the
 * engine; the caller sets its write callback and drives it (a curl multi in the event
 * loop), and frees it. NULL when out of memory. */
void *ash_docker_stream(struct ash_docker *d, const char *path);
/* "a=b" URL-escaped into a query value (caller frees), NULL on ENOMEM. */
char *ash_docker_escape(struct ash_docker *d, const char *s);

#endif
