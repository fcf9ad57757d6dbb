/* ash_error_t helpers: formatting, wrapping with context, classification. */
#include <aftershock/error.h>

#include <stdio.h>
#include <string.h>

static int vfill(ash_error_t *err, enum ash_error_class klass, int code, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    char buf[ASH_ERROR_MSG_MAX];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (code > 0)
        snprintf(err->msg, sizeof err->msg, "%s: %s", buf, strerror(code));
    else
        snprintf(err->msg, sizeof err->msg, "%s", buf);
    err->code = code;
    err->klass = klass;
    return -1;
}

int ash_error(ash_error_t *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ret = vfill(err, ASH_ERR_RUNTIME, code, fmt, ap);
    va_end(ap);
    return ret;
}

int ash_error_class(ash_error_t *err, enum ash_error_class klass, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ret = vfill(err, klass, code, fmt, ap);
    va_end(ap);
    return ret;
}

int ash_error_wrap(ash_error_t *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[ASH_ERROR_MSG_MAX], old[ASH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    if (err->klass == ASH_ERR_NONE)
        err->klass = ASH_ERR_RUNTIME;
    return -1;
}

void ash_error_clear(ash_error_t *err)
{
    if (err) {
        err->code = 0;
        err->klass = ASH_ERR_NONE;
        err->msg[0] = '\0';
    }
}
