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

/* Does the hosts line's sources [p, end) name one besides files and dns? A
 * '#' there is a word like any other (glibc 2.33 and later strip no comment
 * after a line's start: "# mdns4" would load the services '#' and "mdns4"). */
static bool other_source(const char *p, const char *end)
{
    while (p < end) {
        if (is_space(*p)) {
            p++;
            continue;
        }
        if (*p == '[') {
            while (p < end && *p != ']')
                p++;
            p += p < end;
            continue;
        }
        const char *w = p;
        while (p < end && !is_space(*p) && *p != '[')
            p++;
        size_t n = (size_t)(p - w);
        if (!(n == 5 && memcmp(w, "files", 5) == 0) && !(n == 3 && memcmp(w, "dns", 3) == 0))
            return true;
    }
    return false;
}

/* The sources of a hosts line [p, eol), or NULL for another line. As glibc
 * reads a line: the database's name runs to a blank or ':', then blanks and
 * colons are skipped ("hosts : dns" and "hosts<TAB>dns" are hosts lines). */
static const char *hosts_sources(const char *p, const char *eol)
{
    while (p < eol && is_space(*p))
        p++;
    const char *name = p;
    while (p < eol && !is_space(*p) && *p != ':')
        p++;
    if (p - name != 5 || memcmp(name, "hosts", 5) != 0)
        return NULL;
    while (p < eol && (is_space(*p) || *p == ':'))
        p++;
    return p;
}

int ash_nss_hosts_files_dns(const char *text, size_t len, char **out)
{
    static const char repl[] = "hosts: files dns";
    *out = NULL;
    /* Every hosts line is rewritten (glibc before 2.33 used the first, later
     * ones the last); a rewritten line is at least 7 bytes ("hosts", a blank
     * or ':', a source), so len / 2 + 1 replacements is more than enough. */
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
        const char *src = hosts_sources(line, eol);
        if (src && other_source(src, eol)) {
            memcpy(s + at, repl, sizeof repl - 1);
            at += sizeof repl - 1;
            changed = true;
        } else {
            memcpy(s + at, line, (size_t)(eol - line));
            at += (size_t)(eol - line);
        }
        if (eol == end)
            break;
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
