/* A probe's samples in flight: list, timers, delivery (probes/inflight.h). */
#include "probes/inflight.h"
#include "sys/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

void ash_inflight_start(struct ash_inflight *l, struct ash_inflight_sample *s, int64_t start, ash_sample_done_fn done,
                        void *arg)
{
    s->list = l;
    s->done = done;
    s->arg = arg;
    s->result = (struct ash_sample){.start = start};
    s->prev = NULL;
    s->next = l->head;
    if (s->next)
        s->next->prev = s;
    l->head = s;
}

int ash_inflight_arm(struct ash_inflight_sample *s, int64_t deadline, ash_timer_cb cb, const char *probe,
                     ash_error_t *err)
{
    if (s->finished) {
        s->result.end = ash_now_ns();
        deadline = 0;
    }
    if (deadline < 0)
        return 0;
    if (!(s->timer = ash_loop_add_timer(s->list->loop, deadline, cb, s))) {
        ash_inflight_release(s);
        return ash_error(err, ENOMEM, "probe '%s': timer", probe);
    }
    return 0;
}

void ash_inflight_timed_out(struct ash_inflight_sample *s, int64_t timeout_ns)
{
    if (s->finished)
        return;
    s->result.end = ash_now_ns();
    s->result.ok = false;
    if (timeout_ns % ASH_NS_PER_MS == 0)
        snprintf(s->result.detail, sizeof s->result.detail, "timeout after %lld ms",
                 (long long)(timeout_ns / ASH_NS_PER_MS));
    else
        snprintf(s->result.detail, sizeof s->result.detail, "timeout after %.3f ms", ash_ns_to_ms(timeout_ns));
}

void ash_inflight_release(struct ash_inflight_sample *s)
{
    struct ash_inflight *l = s->list;
    if (s->timer)
        ash_loop_cancel_timer(l->loop, s->timer);
    s->timer = NULL;
    if (l->clear)
        l->clear(s);
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

void ash_inflight_deliver(struct ash_inflight_sample *s)
{
    struct ash_sample out = s->result;
    ash_sample_done_fn done = s->done;
    void *arg = s->arg;
    ash_inflight_release(s);
    done(arg, &out);
}

void ash_inflight_close(struct ash_inflight *l)
{
    while (l->head)
        ash_inflight_release(l->head);
}
