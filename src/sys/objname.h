/* Names of the kernel objects a run makes (nft tables, cgroups) from scenario names. */
#ifndef ASH_SYS_OBJNAME_H
#define ASH_SYS_OBJNAME_H

#include <stddef.h>
#include <stdint.h>

/* The part a scenario name contributes: "<head>-<8 hex>", where head is the
 * name's first ASH_OBJNAME_HEAD_MAX bytes with anything but [A-Za-z0-9_-]
 * made '_' (for people reading `nft list tables`), and the hex digits are a
 * hash of the whole name (so 'part.x' and 'part_x', or two names sharing a
 * 240-byte prefix, get different parts). The part depends on the name alone,
 * not on the run id, so validate can compare parts before any run exists. */
#define ASH_OBJNAME_HEAD_MAX 31
#define ASH_OBJNAME_PART_MAX (ASH_OBJNAME_HEAD_MAX + 1 + 8)
/* Longest run id (src/env/sandbox.c accepts 1-11 letters or digits). */
#define ASH_OBJNAME_RUN_MAX 11
/* "ash-<run>-<part>": 4 + 11 + 1 + 40 = 56 bytes, within every limit it is used
 * for (nft names 255, cgroup directory names 255, and our 64-byte buffers). */
#define ASH_OBJNAME_MAX (4 + ASH_OBJNAME_RUN_MAX + 1 + ASH_OBJNAME_PART_MAX)

uint32_t ash_objname_hash(const char *name);
/* out has room for ASH_OBJNAME_PART_MAX + 1 bytes. */
void ash_objname_part(char *out, const char *name);
/* "ash-<run>-<part>" into out (room for ASH_OBJNAME_MAX + 1 bytes); a run id
 * longer than ASH_OBJNAME_RUN_MAX is cut (it never is: run ids are validated). */
void ash_objname(char *out, const char *run_id, const char *name);

#endif
