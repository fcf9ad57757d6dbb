/* src/sys alone: the journal, linked with no layer above it. */
#include "sys/journal.h"
#include "../unit/test_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int undone;

static int undo(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err)
{
    (void)committed, (void)arg, (void)err;
    ck_assert_str_eq(op, "layer-test");
    ck_assert_int_eq(json_integer_value(json_object_get(data, "n")), 2); /* only the pending record */
    undone++;
    return 0;
}

START_TEST(test_journal_replays_pending_records)
{
    char dir[] = "/tmp/ash-layer-sys-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ash_error_t err = {0};
    struct ash_journal *j;
    ck_assert_msg(ash_journal_open(dir, "layer", &j, &err) == 0, "%s", err.msg);
    uint64_t a, b;
    json_t *one = json_pack("{s:i}", "n", 1), *two = json_pack("{s:i}", "n", 2);
    ck_assert_int_eq(ash_journal_append(j, "layer-test", one, &a, &err), 0); /* the caller keeps its data */
    ck_assert_int_eq(ash_journal_append(j, "layer-test", two, &b, &err), 0);
    json_decref(one);
    json_decref(two);
    ck_assert_int_eq(ash_journal_done(j, a, &err), 0);
    ck_assert_uint_eq(ash_journal_pending(j), 1);
    char *path = strdup(ash_journal_path(j));
    ash_journal_close(j, false);
    ck_assert_int_eq(ash_journal_replay(path, undo, NULL, NULL, &err), 0);
    ck_assert_int_eq(undone, 1);
    ck_assert_int_eq(access(path, F_OK), -1); /* all undone: the file is gone */
    free(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer_sys");
    TCase *tc = tcase_create("journal");
    tcase_add_test(tc, test_journal_replays_pending_records);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
