/* Kernel object names from scenario names: bounded by construction, distinct
 * for distinct names (up to a 32-bit hash collision, which validate rejects). */
#include "sys/objname.h"

#include <stdio.h>
#include <string.h>

/* FNV-1a: tiny and stable across builds; the names are not secret, so a
 * keyed hash would buy nothing, and a fixed one lets validate predict names. */
uint32_t ash_objname_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

static int readable(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

void ash_objname_part(char *out, const char *name)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && n < ASH_OBJNAME_HEAD_MAX; p++)
        out[n++] = readable(*p) ? (char)*p : '_';
    snprintf(out + n, ASH_OBJNAME_PART_MAX + 1 - n, "-%08x", ash_objname_hash(name));
}

void ash_objname(char *out, const char *run_id, const char *name)
{
    char part[ASH_OBJNAME_PART_MAX + 1];
    ash_objname_part(part, name);
    snprintf(out, ASH_OBJNAME_MAX + 1, "ash-%.*s-%s", ASH_OBJNAME_RUN_MAX, run_id, part);
}
