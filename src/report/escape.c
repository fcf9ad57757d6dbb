/* Escaping report strings for XML/HTML/SVG, Markdown table cells and URL path segments. */
#include "report/report.h"

#include <string.h>

void ash_report_put_xml(FILE *f, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        /* Character references keep newlines and tabs inside attribute values,
         * where a parser would otherwise normalise them to spaces. */
        case '\n':
            fputs("&#10;", f);
            break;
        case '\t':
            fputs("&#9;", f);
            break;
        case '\r':
            fputs("&#13;", f);
            break;
        default:
            /* XML 1.0 forbids other C0 controls even as references. jansson
             * guarantees valid UTF-8, so everything else passes through. */
            if (*p < 0x20)
                fputs("\xef\xbf\xbd", f);
            else
                fputc(*p, f);
        }
    }
}

void ash_report_put_md_cell(FILE *f, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '|':
            fputs("\\|", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '\n':
        case '\r':
        case '\t':
            fputc(' ', f);
            break;
        default:
            if (*p >= 0x20)
                fputc(*p, f);
        }
    }
}

/* One path segment of a relative link (a run directory's name): unreserved bytes as they are. */
void ash_report_put_url_segment(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}
