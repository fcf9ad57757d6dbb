/* Benchmarks that build sandboxes (namespaces, links, nftables tables,
 * cgroups) hold SIGINT, SIGTERM, SIGHUP and SIGQUIT until they exit: a
 * benchmark stopped half-way (Ctrl-C, `timeout`) used to leave its sandbox
 * behind for `aftershock recover`. The signal is noted, the run goes on to its
 * teardown, no further step starts (the benchmarks check ash_bench_signal
 * between steps), and at exit the process dies of that signal as it would have.
 * Handlers, not a blocked mask: a blocked mask is inherited through exec, and
 * the commands a benchmark runs (`ip`, `tc`, `nft`) must stay killable. */
#ifndef ASH_BENCH_SIGNALS_H
#define ASH_BENCH_SIGNALS_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t ash_bench_signal;

static void ash_bench_on_signal(int sig)
{
    if (!ash_bench_signal) {
        static const char msg[] = "\nbenchmark: stopping after the step under way and the teardown of what it made\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
    }
    ash_bench_signal = sig;
}

static void ash_bench_reraise(void)
{
    int sig = ash_bench_signal;
    if (!sig)
        return;
    signal(sig, SIG_DFL);
    raise(sig);
}

static inline void ash_bench_hold_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ash_bench_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    atexit(ash_bench_reraise);
}

#endif
