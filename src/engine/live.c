/* The live view's terminal side: ncurses on the run's own terminal, redrawn from a loop
 * timer and fed keys from the loop's epoll (never a blocking read), so the view cannot
 * hold up a probe, a fault or a measurement. Keys go to the same entry point as
 * `aftershock mark` / `abort`. The terminal is given back on every way out: the run's
 * normal end and its abort paths (Ctrl-C arrives as SIGINT through the loop's
 * signalfd, then the run ends as usual), and atexit for a path that forgot. */
#include "engine/live.h"

#include "sys/clock.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum prompt { PROMPT_NONE, PROMPT_NOTE, PROMPT_ABORT };

struct ash_live {
    ash_loop *loop;
    SCREEN *screen;
    FILE *in;
    int in_fd, out_fd;
    ash_timer *timer;
    int64_t t_start;
    ash_live_fill_fn fill;
    ash_live_cmd_fn cmd;
    void *arg;
    enum prompt prompt;
    char note[200];
    size_t note_len;
    char prompt_text[260];
    char message[200];
    int rows, cols;
};

/* The one view that holds the terminal, for the atexit restore. */
static struct ash_live *holding;

static void restore_at_exit(void)
{
    if (holding && holding->screen) {
        set_term(holding->screen);
        endwin();
    }
}

static void size_of(int fd, int *rows, int *cols)
{
    struct winsize ws = {0};
    *rows = *cols = 0;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

static void redraw(struct ash_live *v)
{
    set_term(v->screen);
    int rows, cols;
    size_of(v->out_fd, &rows, &cols);
    if (rows > 0 && cols > 0 && (rows != v->rows || cols != v->cols)) {
        resizeterm(rows, cols);
        v->rows = rows;
        v->cols = cols;
        clearok(curscr, TRUE);
    }
    struct ash_live_snapshot s = {0};
    v->fill(v->arg, &s);
    s.message = v->message[0] ? v->message : NULL;
    s.prompt = v->prompt != PROMPT_NONE ? v->prompt_text : NULL;
    if (v->rows < ASH_LIVE_MIN_ROWS || v->cols < ASH_LIVE_MIN_COLS) {
        /* Shrunk below the view: the status line's figures on the first row. */
        werase(stdscr);
        mvwprintw(stdscr, 0, 0, "%.*s #%d %s %+.1fs (window too small for the live view)", v->cols > 60 ? 40 : 16,
                  s.scenario ? s.scenario : "", s.run, s.phase ? s.phase : "", s.elapsed_s);
    } else {
        ash_live_draw(stdscr, &s);
    }
    wnoutrefresh(stdscr);
    doupdate();
}

static int64_t tick(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct ash_live *v = data;
    redraw(v);
    return now + ASH_NS_PER_S / ASH_LIVE_HZ;
}

static void set_prompt(struct ash_live *v)
{
    if (v->prompt == PROMPT_NOTE)
        snprintf(v->prompt_text, sizeof v->prompt_text, "note (Enter to stamp it, Esc to cancel): %s_", v->note);
    else if (v->prompt == PROMPT_ABORT)
        snprintf(v->prompt_text, sizeof v->prompt_text,
                 "ABORT the run? every fault is reverted, verdict aborted. y to abort, any other key to go on");
}

static void command(struct ash_live *v, const char *what, const char *text)
{
    int64_t t = ash_now_ns();
    char who[48];
    snprintf(who, sizeof who, "key in the live view (pid %d)", (int)getpid());
    if (strcmp(what, "note") == 0)
        snprintf(v->message, sizeof v->message, "note stamped at %+.3f s", (double)(t - v->t_start) / 1e9);
    else if (strcmp(what, "abort") == 0)
        snprintf(v->message, sizeof v->message, "aborting: reverting every fault");
    else
        snprintf(v->message, sizeof v->message, "marked %s at %+.3f s", what, (double)(t - v->t_start) / 1e9);
    v->cmd(v->arg, what, text, t, who);
}

static void key(struct ash_live *v, int ch)
{
    switch (v->prompt) {
    case PROMPT_NOTE:
        if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
            v->prompt = PROMPT_NONE;
            if (v->note_len)
                command(v, "note", v->note);
        } else if (ch == 27) {
            v->prompt = PROMPT_NONE;
            snprintf(v->message, sizeof v->message, "note cancelled");
        } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
            if (v->note_len)
                v->note[--v->note_len] = '\0';
        } else if (ch >= 0x20 && ch < 0x7f && v->note_len + 1 < sizeof v->note) {
            v->note[v->note_len++] = (char)ch;
            v->note[v->note_len] = '\0';
        }
        break;
    case PROMPT_ABORT:
        v->prompt = PROMPT_NONE;
        if (ch == 'y' || ch == 'Y')
            command(v, "abort", "");
        else
            snprintf(v->message, sizeof v->message, "not aborted");
        break;
    case PROMPT_NONE:
    default:
        if (ch == 'd')
            command(v, "detected", "");
        else if (ch == 'm')
            command(v, "mitigated", "");
        else if (ch == 'r')
            command(v, "recovered", "");
        else if (ch == 'n') {
            v->prompt = PROMPT_NOTE;
            v->note[0] = '\0';
            v->note_len = 0;
        } else if (ch == 'a')
            v->prompt = PROMPT_ABORT;
        break;
    }
    set_prompt(v);
}

static void keys_ready(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)fd;
    struct ash_live *v = data;
    if (events & (EPOLLHUP | EPOLLERR)) {
        /* The terminal went away: no more keys; the run goes on (a hang-up arrives as SIGHUP). */
        ash_loop_del_fd(loop, v->in_fd);
        v->in_fd = -1;
        return;
    }
    set_term(v->screen);
    int ch;
    bool any = false;
    while ((ch = wgetch(stdscr)) != ERR) {
        key(v, ch);
        any = true;
    }
    if (any)
        redraw(v);
}

int ash_live_open(ash_loop *loop, FILE *out, int in_fd, int64_t t_start, ash_live_fill_fn fill, ash_live_cmd_fn cmd,
                  void *arg, struct ash_live **live, char *why, size_t why_len)
{
    *live = NULL;
    why[0] = '\0';
    int out_fd = fileno(out);
    if (!isatty(out_fd) || !isatty(in_fd)) {
        snprintf(why, why_len, "the live view needs a terminal for its screen and keys");
        return 0;
    }
    if (holding) {
        snprintf(why, why_len, "a live view is already shown");
        return 0;
    }
    int rows, cols;
    size_of(out_fd, &rows, &cols);
    if (rows < ASH_LIVE_MIN_ROWS || cols < ASH_LIVE_MIN_COLS) {
        snprintf(why, why_len, "the terminal (%dx%d) is smaller than the live view's %dx%d: status line instead", cols,
                 rows, ASH_LIVE_MIN_COLS, ASH_LIVE_MIN_ROWS);
        return 0;
    }
    struct ash_live *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(why, why_len, "live view: out of memory");
        return 0;
    }
    int dfd = fcntl(in_fd, F_DUPFD_CLOEXEC, 0);
    v->in = dfd >= 0 ? fdopen(dfd, "r") : NULL;
    if (!v->in) {
        if (dfd >= 0)
            close(dfd);
        snprintf(why, why_len, "live view: cannot read keys (%s)", strerror(errno));
        free(v);
        return 0;
    }
    fflush(out);
    v->screen = newterm(NULL, out, v->in);
    if (!v->screen) {
        snprintf(why, why_len, "live view: the terminal type '%s' is unknown to ncurses: status line instead",
                 getenv("TERM") ? getenv("TERM") : "");
        fclose(v->in);
        free(v);
        return 0;
    }
    static bool registered;
    if (!registered && atexit(restore_at_exit) == 0)
        registered = true;
    holding = v;
    set_term(v->screen);
    cbreak(); /* not raw: Ctrl-C still reaches the run as SIGINT, an orderly abort */
    noecho();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_GREEN, -1);
        init_pair(2, COLOR_RED, -1);
        init_pair(3, COLOR_YELLOW, -1);
    }
    v->loop = loop;
    v->in_fd = in_fd;
    v->out_fd = out_fd;
    v->t_start = t_start;
    v->fill = fill;
    v->cmd = cmd;
    v->arg = arg;
    v->rows = rows;
    v->cols = cols;
    resizeterm(rows, cols);
    v->timer = ash_loop_add_timer(loop, ash_now_ns(), tick, v);
    if (!v->timer || ash_loop_add_fd(loop, in_fd, EPOLLIN, keys_ready, v, NULL) < 0) {
        snprintf(why, why_len, "live view: cannot watch the terminal from the event loop");
        if (v->timer)
            ash_loop_cancel_timer(loop, v->timer);
        v->in_fd = -1;
        ash_live_close(v);
        return 0;
    }
    *live = v;
    return 0;
}

void ash_live_close(struct ash_live *v)
{
    if (!v)
        return;
    if (v->timer)
        ash_loop_cancel_timer(v->loop, v->timer);
    if (v->in_fd >= 0)
        ash_loop_del_fd(v->loop, v->in_fd);
    set_term(v->screen);
    endwin(); /* the terminal's modes, cursor and main screen as they were */
    delscreen(v->screen);
    fclose(v->in);
    if (holding == v)
        holding = NULL;
    free(v);
}
