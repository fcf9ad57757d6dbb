/* Growable arrays in their own mappings, for what grows with a run's length (issue 19). */
#ifndef ASH_SYS_MAPPED_ARRAY_H
#define ASH_SYS_MAPPED_ARRAY_H

#include <stddef.h>

/* Make *vp hold at least need elements of size bytes; *cap counts them. The
 * array lives in its own anonymous mapping and grows by mremap: nothing is
 * copied and no freed block is left behind in the heap (realloc doubling
 * arrays that grow side by side, one per probe, left the heap about twice
 * their size), and only the pages written are resident. -1 with errno when
 * out of memory (*vp unchanged). Free with ash_mapped_array_free. */
int ash_mapped_array_grow(void *vp, size_t *cap, size_t need, size_t size);
void ash_mapped_array_free(void *p, size_t cap, size_t size);

#endif
