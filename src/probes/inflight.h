/* A probe's samples in flight, the part every probe kind shares: the list the
 * probe's close empties, each sample's timer (its timeout, or the deferred
 * delivery of a result known at once: results are always reported from the
 * loop, as struct ash_probe_kind promises), and the delivery itself. A kind's
 * sample struct starts with a struct ash_inflight_sample. */
#ifndef ASH_PROBES_INFLIGHT_H
#define ASH_PROBES_INFLIGHT_H

#include "kinds.h"
#include "sys/loop.h"

#include <aftershock/error.h>
#include <stdbool.h>
#include <stdint.h>

struct ash_inflight;

struct ash_inflight_sample {
    struct ash_inflight *list;
    struct ash_inflight_sample *prev, *next;
    ash_timer *timer;
    bool finished; /* result is final, waiting for delivery */
    struct ash_sample result;
    ash_sample_done_fn done;
    void *arg;
};

struct ash_inflight {
    ash_loop *loop;
    struct ash_inflight_sample *head;
    /* The kind's own: let go of what a sample holds (its fd, its child). The timer,
     * the list and the memory are the helpers'. NULL: nothing of its own. */
    void (*clear)(struct ash_inflight_sample *s);
};

/* Begin sample s (allocated by the kind, zeroed but for its own fields) at start. */
void ash_inflight_start(struct ash_inflight *l, struct ash_inflight_sample *s, int64_t start, ash_sample_done_fn done,
                        void *arg);
/* Arm its timer for deadline (-1: none). A sample already finished is delivered from
 * the loop at once, with its end taken now. On failure the sample is released and
 * -1 returned (ENOMEM, naming the probe). */
int ash_inflight_arm(struct ash_inflight_sample *s, int64_t deadline, ash_timer_cb cb, const char *probe,
                     ash_error_t *err);
/* From a timer callback: the sample timed out after timeout_ns, unless it finished. */
void ash_inflight_timed_out(struct ash_inflight_sample *s, int64_t timeout_ns);
/* Free first, report last: done may close the probe. */
void ash_inflight_deliver(struct ash_inflight_sample *s);
/* Abandon it: timer cancelled, the kind's clear, unlinked, freed; done is not called. */
void ash_inflight_release(struct ash_inflight_sample *s);
/* Abandon every sample in flight (the probe's close). */
void ash_inflight_close(struct ash_inflight *l);

#endif
