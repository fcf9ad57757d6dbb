/* A `dns` fault on a container: a DNS server of the fault's own inside the container's
 * network namespace, and its port-53 traffic redirected there. */
#ifndef ASH_FAULTS_DNS_REDIRECT_H
#define ASH_FAULTS_DNS_REDIRECT_H

#include "kinds.h"

#include <jansson.h>

struct ash_dns;
struct ash_dns_redirect;

/* Resolve ref, read its resolver (/etc/resolv.conf as it sees it), and start a server
 * listening inside its namespace (on 127.0.0.1) that forwards what it has no record of
 * to that resolver. Nothing is redirected yet: rules go on the server first. */
int ash_dns_redirect_new(struct ash_ctx *ctx, const struct ash_target_ref *ref, const char *fault,
                         struct ash_dns_redirect **out, ash_error_t *err);
struct ash_dns *ash_dns_redirect_server(struct ash_dns_redirect *r);
/* The run's preflight: can t's queries be forwarded (its resolv.conf names an IPv4
 * nameserver)? Reads only. */
int ash_dns_redirect_check(const struct ash_target *t, ash_error_t *err);
/* Journal, then put the redirect in place (the fault is in effect when this returns). */
int ash_dns_redirect_apply(struct ash_ctx *ctx, struct ash_dns_redirect *r, ash_error_t *err);
/* Remove the redirect (if applied), stop the server, release the target; r is freed
 * unless the redirect could not be removed (-1: r kept, call again, or _free). */
int ash_dns_redirect_stop(struct ash_ctx *ctx, struct ash_dns_redirect *r, ash_error_t *err);
/* Free without touching the namespace (its record stays pending for recover). */
void ash_dns_redirect_free(struct ash_dns_redirect *r);
/* recover: the "dns.redirect" record. */
int ash_dns_redirect_undo(json_t *rec, ash_error_t *err);

#endif
