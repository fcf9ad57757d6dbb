/* Errors travel as values: a fallible call returns a negative int and fills an ash_error_t. */
#ifndef AFTERSHOCK_ERROR_H
#define AFTERSHOCK_ERROR_H

#include <stdarg.h>

#define ASH_ERROR_MSG_MAX 1024

/* Which exit status an error maps to (see `aftershock --help`). */
enum ash_error_class {
    ASH_ERR_NONE = 0,
    ASH_ERR_RUNTIME = 1,     /* something failed while running */
    ASH_ERR_USAGE = 2,       /* bad usage or invalid scenario: nothing was injected */
    ASH_ERR_ENVIRONMENT = 3, /* missing privilege or kernel feature */
};

typedef struct ash_error {
    int code; /* errno-style cause, 0 if none */
    enum ash_error_class klass;
    char msg[ASH_ERROR_MSG_MAX];
} ash_error_t;

/* Fill err with "fmt: strerror(code)" (when code != 0) and return -1. */
int ash_error(ash_error_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, with an explicit class (usage/environment). */
int ash_error_class(ash_error_t *err, enum ash_error_class klass, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefix context: "fmt: <previous message>". Returns -1. */
int ash_error_wrap(ash_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ash_error_clear(ash_error_t *err);

#endif
