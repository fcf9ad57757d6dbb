/* DNS records as a scenario states them: their type names, and their check, done by
 * building the record with ldns exactly as the run's DNS server (src/dns/) will. Here,
 * below both, so the parser does not call into the server and the server into the parser. */
#include "scenario/dns_record.h"
#include "scenario/scenario.h"

#include <stdio.h>
#include <string.h>

const char *const ash_dns_rtype_names[] = {"A", "AAAA", "CNAME", "SRV", "PTR", NULL};

/* ldns reads the record as a zone file line would say it, relative names
 * completed with the root: no hand-written rdata encoders. */
ldns_rr *ash_dns_rr_build(const char *name, int type, const char *value, long long ttl, ldns_rdf *origin, char *why,
                          size_t len)
{
    if (type < 0 || type > ASH_DNS_PTR) {
        snprintf(why, len, "unknown record type");
        return NULL;
    }
    if (!name || !*name || strlen(name) > 253 || !value || !*value || strpbrk(value, ";()\n\r\"")) {
        snprintf(why, len, "a record needs a name (at most 253 characters) and a value without ; ( ) or quotes");
        return NULL;
    }
    char line[1024];
    size_t nl = strlen(name);
    snprintf(line, sizeof line, "%s%s %lld IN %s %s", name, name[nl - 1] == '.' ? "" : ".", ttl,
             ash_dns_rtype_names[type], value);
    ldns_rr *rr = NULL;
    ldns_status st = ldns_rr_new_frm_str(&rr, line, 0, origin, NULL);
    if (st != LDNS_STATUS_OK) {
        snprintf(why, len, "not a valid %s value: %s", ash_dns_rtype_names[type], ldns_get_errorstr_by_id(st));
        return NULL;
    }
    return rr;
}

int ash_dns_record_check(const char *name, int type, const char *value, char *why, size_t len)
{
    ldns_rdf *origin = ldns_dname_new_frm_str(".");
    if (!origin) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    ldns_rr *rr = ash_dns_rr_build(name, type, value, 0, origin, why, len);
    ldns_rdf_deep_free(origin);
    if (!rr)
        return -1;
    ldns_rr_free(rr);
    return 0;
}
