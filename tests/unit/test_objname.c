/* Kernel object names (src/sys/objname.c): bounded, readable, distinct for distinct names. */
#include "sys/objname.h"
#include "scenario/scenario.h"
#include "test_run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(bounded_for_any_length)
{
    char name[1001], out[ASH_OBJNAME_MAX + 1], part[ASH_OBJNAME_PART_MAX + 1];
    for (size_t len = 1; len < sizeof name; len += 37) {
        memset(name, 'x', len);
        name[len] = '\0';
        ash_objname_part(part, name);
        ck_assert_uint_le(strlen(part), ASH_OBJNAME_PART_MAX);
        ash_objname(out, "abcdefghijk", name); /* the longest run id */
        ck_assert_uint_le(strlen(out), ASH_OBJNAME_MAX);
        ck_assert_uint_le(strlen(out), 63); /* nft buffers, cgroup names: well within 255 */
        ck_assert_msg(strncmp(out, "ash-abcdefghijk-", 16) == 0, "%s", out);
    }
    /* A run id longer than the limit is cut, never overflows. */
    ash_objname(out, "abcdefghijklmnopqrstuvwxyz", "f");
    ck_assert_uint_le(strlen(out), ASH_OBJNAME_MAX);
}
END_TEST

START_TEST(readable_head_kept)
{
    char out[ASH_OBJNAME_MAX + 1];
    ash_objname(out, "1f2e3d", "part.x");
    ck_assert_msg(strncmp(out, "ash-1f2e3d-part_x-", 18) == 0, "%s", out);
    ck_assert_uint_eq(strlen(out), 18 + 8);
    for (const char *p = out; *p; p++)
        ck_assert_msg(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *p), "%s", out);
}
END_TEST

/* The two reported collisions: 'part.x' vs 'part_x' (the old sanitizer made both
 * part_x) and two names with a 240-byte common prefix (the old cut at 200 bytes). */
START_TEST(reported_collisions_distinct)
{
    char a[ASH_OBJNAME_MAX + 1], b[ASH_OBJNAME_MAX + 1];
    ash_objname(a, "r1", "part.x");
    ash_objname(b, "r1", "part_x");
    ck_assert_str_ne(a, b);
    char long1[260], long2[260];
    memset(long1, 's', 240);
    memcpy(long2, long1, 240);
    strcpy(long1 + 240, "-one");
    strcpy(long2 + 240, "-two");
    ash_objname(a, "r1", long1);
    ash_objname(b, "r1", long2);
    ck_assert_str_ne(a, b);
}
END_TEST

/* Distinct for distinct inputs: 200k names that differ only past the readable
 * head (so only the hash tells them apart) give 200k distinct names, except
 * for true 32-bit hash collisions, which must be rare (birthday bound: ~4.7
 * expected in 200k) and are exactly what validate refuses. */
static int cmp(const void *x, const void *y)
{
    return strcmp(x, y);
}

START_TEST(distinct_for_distinct_inputs)
{
    enum { N = 200000, W = ASH_OBJNAME_MAX + 1 };
    char *all = malloc((size_t)N * W);
    ck_assert_ptr_nonnull(all);
    char name[80];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "a-common-head-of-thirty-one-char-%d", i);
        ash_objname(all + (size_t)i * W, "r1", name);
    }
    qsort(all, N, W, cmp);
    int same = 0;
    for (int i = 1; i < N; i++)
        same += strcmp(all + (size_t)i * W, all + (size_t)(i - 1) * W) == 0;
    ck_assert_int_le(same, 20);
    free(all);
}
END_TEST

/* The one pair the builder cannot tell apart (same 31-byte head, same FNV-1a
 * hash) is refused by validate with file:line:column. */
START_TEST(validate_refuses_hash_collision)
{
    ck_assert_uint_eq(ash_objname_hash("hash-collision-of-two-long-name-ivlo"),
                      ash_objname_hash("hash-collision-of-two-long-name-1pda"));
    const char *y = "version: 1\n"
                    "name: coll\n"
                    "services:\n"
                    "  - name: hash-collision-of-two-long-name-ivlo\n"
                    "    command: [sleep, '1']\n"
                    "  - name: hash-collision-of-two-long-name-1pda\n"
                    "    command: [sleep, '1']\n";
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    ck_assert_int_lt(ash_scenario_load_string("coll.yaml", y, strlen(y), &sc, &err), 0);
    ck_assert_msg(strstr(err.msg, "coll.yaml:6:11: service 'hash-collision-of-two-long-name-1pda' and service"), "%s",
                  err.msg);
    /* part.x and part_x, 240-byte prefixes: valid now (distinct objects). */
    char big[1200];
    char p240[241];
    memset(p240, 'p', 240);
    p240[240] = '\0';
    snprintf(big, sizeof big,
             "version: 1\nname: ok\nservices:\n  - name: %s-a\n    command: [sleep, '1']\n"
             "  - name: %s-b\n    command: [sleep, '1']\n",
             p240, p240);
    ck_assert_msg(ash_scenario_load_string("ok.yaml", big, strlen(big), &sc, &err) == 0, "%s", err.msg);
    ash_scenario_free(sc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("objname");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bounded_for_any_length);
    tcase_add_test(tc, readable_head_kept);
    tcase_add_test(tc, reported_collisions_distinct);
    tcase_add_test(tc, distinct_for_distinct_inputs);
    tcase_add_test(tc, validate_refuses_hash_collision);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
