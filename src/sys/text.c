/* Escaping text from outside before it reaches a terminal or a log: an alert
 * name with ESC, BEL and CR must not clear the screen or retitle the window. */
#include <aftershock/text.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Where escaped text goes: a buffer (cut at a whole piece) or a stream. */
struct sink {
    char *buf;
    size_t len, w; /* w: bytes written to buf */
    size_t k;      /* bytes the whole result needs so far */
    bool cut;
    FILE *f;
    int status;
};

static void put(struct sink *o, const char *piece, size_t n)
{
    if (o->f) {
        if (o->status >= 0 && fwrite(piece, 1, n, o->f) != n)
            o->status = EOF;
    } else if (!o->cut && o->w + n < o->len) {
        memcpy(o->buf + o->w, piece, n);
        o->w += n;
    } else {
        o->cut = true;
    }
    o->k += n;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned lo = 0x80, hi = 0xbf;
    size_t n;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] == 0xe0)
        n = 3, lo = 0xa0;
    else if (p[0] == 0xed)
        n = 3, hi = 0x9f;
    else if (p[0] >= 0xe1 && p[0] <= 0xef)
        n = 3;
    else if (p[0] == 0xf0)
        n = 4, lo = 0x90;
    else if (p[0] == 0xf4)
        n = 4, hi = 0x8f;
    else if (p[0] >= 0xf1 && p[0] <= 0xf3)
        n = 4;
    else
        return 0;
    if (p[1] < lo || p[1] > hi) /* also stops at the terminating NUL */
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

static void escape(struct sink *o, const char *s, unsigned flags)
{
    char esc[8];
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 1 && *p >= 0x20 && *p != 0x7f) {
            put(o, (const char *)p, 1);
        } else if (n == 1 && *p == '\n' && (flags & ASH_TEXT_KEEP_NEWLINE)) {
            put(o, "\n", 1);
        } else if (n == 1) {
            const char *named = *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : *p == '\t' ? "\\t" : NULL;
            if (!named)
                snprintf(esc, sizeof esc, "\\x%02x", *p);
            put(o, named ? named : esc, strlen(named ? named : esc));
        } else if (n == 2 && p[0] == 0xc2 && p[1] <= 0x9f) {
            snprintf(esc, sizeof esc, "\\u%04x", p[1]); /* a C1 control (U+0080..U+009F) */
            put(o, esc, strlen(esc));
        } else if (n > 1) {
            put(o, (const char *)p, n);
        } else {
            snprintf(esc, sizeof esc, "\\x%02x", *p); /* not UTF-8: one byte at a time */
            put(o, esc, strlen(esc));
            n = 1;
        }
        p += n;
    }
}

size_t ash_text_escape(char *out, size_t out_len, const char *s, unsigned flags)
{
    struct sink o = {.buf = out, .len = out_len};
    if (s)
        escape(&o, s, flags);
    if (out_len)
        out[o.w] = '\0';
    return o.k;
}

int ash_text_fputs(FILE *f, const char *s, unsigned flags)
{
    struct sink o = {.f = f};
    if (s)
        escape(&o, s, flags);
    return o.status;
}

int ash_text_fprintf(FILE *f, unsigned flags, const char *fmt, ...)
{
    char small[1024], *text = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return n;
    if ((size_t)n >= sizeof small) {
        if (!(text = malloc((size_t)n + 1)))
            return EOF;
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    int r = ash_text_fputs(f, text, flags);
    if (text != small)
        free(text);
    return r < 0 ? r : n;
}
