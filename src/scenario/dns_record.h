/* DNS records as a scenario states them (`dns: records:`). */
#ifndef ASH_SCENARIO_DNS_RECORD_H
#define ASH_SCENARIO_DNS_RECORD_H

#include <ldns/ldns.h>
#include <stddef.h>

/* enum ash_dns_rtype's names, NULL-terminated. */
extern const char *const ash_dns_rtype_names[];

/* The record as ldns builds it from a zone-file line (relative names completed with
 * origin); NULL with the reason in why. */
ldns_rr *ash_dns_rr_build(const char *name, int type, const char *value, long long ttl, ldns_rdf *origin, char *why,
                          size_t len);
/* 0 when the record is valid. */
int ash_dns_record_check(const char *name, int type, const char *value, char *why, size_t len);

#endif
