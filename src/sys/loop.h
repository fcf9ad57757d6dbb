/* The single-threaded event loop: fds (epoll), timers (one timerfd), signals (signalfd). */
#ifndef ASH_SYS_LOOP_H
#define ASH_SYS_LOOP_H

#include <aftershock/error.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

typedef struct ash_loop ash_loop;
typedef struct ash_timer ash_timer;

/* Called when fd is ready; events are EPOLL* bits. */
typedef void (*ash_fd_cb)(ash_loop *loop, int fd, uint32_t events, void *data);
/* Called at (or just after) the deadline. Return the next absolute deadline in
 * CLOCK_MONOTONIC ns to fire again, or ASH_TIMER_DONE. A periodic timer that
 * returns deadline + interval keeps its phase: samples never drift. */
typedef int64_t (*ash_timer_cb)(ash_loop *loop, int64_t now, void *data);
typedef void (*ash_signal_cb)(ash_loop *loop, int signo, void *data);

#define ASH_TIMER_DONE INT64_C(-1)

int ash_loop_new(ash_loop **out, ash_error_t *err);
void ash_loop_free(ash_loop *loop);

int ash_loop_add_fd(ash_loop *loop, int fd, uint32_t events, ash_fd_cb cb, void *data, ash_error_t *err);
int ash_loop_mod_fd(ash_loop *loop, int fd, uint32_t events, ash_error_t *err);
/* Safe to call from inside the fd's own callback. */
void ash_loop_del_fd(ash_loop *loop, int fd);

/* Fire cb at absolute CLOCK_MONOTONIC deadline. The handle stays valid until
 * the timer is done or cancelled; cancelling from any callback is safe. */
ash_timer *ash_loop_add_timer(ash_loop *loop, int64_t deadline, ash_timer_cb cb, void *data);
void ash_loop_cancel_timer(ash_loop *loop, ash_timer *t);
int64_t ash_timer_deadline(const ash_timer *t);

/* Deliver signo through the loop instead of asynchronously (blocks it). */
int ash_loop_add_signal(ash_loop *loop, int signo, ash_signal_cb cb, void *data, ash_error_t *err);

/* Run until ash_loop_stop() or until no fd and no timer is left. */
int ash_loop_run(ash_loop *loop, ash_error_t *err);
void ash_loop_stop(ash_loop *loop);
/* Run until *flag becomes true, the deadline passes (returns 0 with flag still false),
 * or ash_loop_stop() is called. deadline < 0: no deadline. */
int ash_loop_run_until(ash_loop *loop, const bool *flag, int64_t deadline, ash_error_t *err);
bool ash_loop_stopped(const ash_loop *loop);
/* Time of the most recent wake-up, in CLOCK_MONOTONIC ns. */
int64_t ash_loop_now(const ash_loop *loop);

#endif
