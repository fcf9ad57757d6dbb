/* Rewriting nsswitch.conf's hosts line for sandbox hosts. Hand-written: no
 * Debian library parses nsswitch.conf (glibc's parser is internal), and the
 * one line needs only its words: sources, and [STATUS=action] items (which
 * may hold spaces inside the brackets) that are skipped. */
#include "env/nss.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Does the hosts line's rest [p, end) name a source besides files and dns? */
static bool other_source(const char *p, const char *end)
{
    while (p < end) {
        if (is_space(*p)) {
            p++;
            continue;
        }
        if (*p == '#')
            return false; /* the rest is a comment */
        if (*p == '[') {
            while (p < end && *p != ']')
                p++;
            p += p < end;
            continue;
        }
        const char *w = p;
        while (p < end && !is_space(*p) && *p != '[' && *p != '#')
            p++;
        size_t n = (size_t)(p - w);
        if (!(n == 5 && memcmp(w, "files", 5) == 0) && !(n == 3 && memcmp(w, "dns", 3) == 0))
            return true;
    }
    return false;
}

int ash_nss_hosts_files_dns(const char *text, size_t len, char **out)
{
    static const char repl[] = "hosts: files dns";
    *out = NULL;
    /* Every hosts line is rewritten (the output is never longer than the
     * input plus one replacement per line). */
    char *s = malloc(len + 1 + (len / 2 + 1) * (sizeof repl - 1));
    if (!s)
        return -1;
    size_t at = 0;
    bool changed = false;
    const char *end = text + len;
    for (const char *line = text; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        const char *p = line;
        while (p < eol && is_space(*p))
            p++;
        if ((size_t)(eol - p) >= 6 && memcmp(p, "hosts:", 6) == 0 && other_source(p + 6, eol)) {
            memcpy(s + at, repl, sizeof repl - 1);
            at += sizeof repl - 1;
            changed = true;
        } else {
            memcpy(s + at, line, (size_t)(eol - line));
            at += (size_t)(eol - line);
        }
        if (eol < end)
            s[at++] = '\n';
        line = eol + 1;
    }
    s[at] = '\0';
    if (!changed) {
        free(s);
        return 0;
    }
    *out = s;
    return 1;
}
