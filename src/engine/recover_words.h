/* An undo record in words: what `aftershock recover` (and the guardian) say they did. */
#ifndef ASH_ENGINE_RECOVER_WORDS_H
#define ASH_ENGINE_RECOVER_WORDS_H

#include "sys/journal.h"

#include <jansson.h>
#include <stddef.h>

/* One line (no newline) for a record of op u (NULL: an op this build does not know)
 * that was undone: u->said with the record's values in it; "nothing to undo for ...:
 * WHY" when the undo found the harm already gone (the record's "nothing_to_undo"). */
const char *ash_undo_words(const struct ash_undo_op *u, const char *op, const json_t *rec, char *buf, size_t len);

#endif
