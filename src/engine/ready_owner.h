/* Whose listener answered a service's readiness check. */
#ifndef ASH_ENGINE_READY_OWNER_H
#define ASH_ENGINE_READY_OWNER_H

#include <stdbool.h>
#include <stddef.h>

#include "kinds.h"

/* After a tcp/http `ready` check succeeded: true when the endpoint is not on
 * this machine (or the service's sandbox host), or when a listener on it
 * belongs to the service's process tree; false with the reason in why
 * ("127.0.0.1:18080 is answered by pid 4242 (python3), not by service 'api'
 * (pid 4300)") otherwise. */
bool ash_ready_owner_check(struct ash_ctx *ctx, const struct ash_service_spec *svc, char *why, size_t len);

/* Split a ready endpoint into host and port: "HOST:PORT", "[V6]:PORT", or an
 * http(s) URL (default port 80/443). false when it has no usable port. */
bool ash_ready_endpoint(const struct ash_ready_spec *r, char *host, size_t hlen, unsigned *port);

#endif
