/* Torture mode: countdown wrappers (-Wl,--wrap) that make the Nth allocation or syscall fail (see torture.h). */
#include "sys/torture.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#ifndef ASH_TORTURE

bool ash_torture_available(void)
{
    return false;
}
void ash_torture_arm(uint64_t n)
{
    (void)n;
}
void ash_torture_arm_from(uint64_t n)
{
    (void)n;
}
uint64_t ash_torture_calls(void)
{
    return 0;
}
bool ash_torture_hit(const char **what)
{
    if (what)
        *what = NULL;
    return false;
}
void ash_torture_journal_appended(const char *op, uint64_t id)
{
    (void)op;
    (void)id;
}
void ash_torture_journal_done(uint64_t id)
{
    (void)id;
}

#else

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <spawn.h>

/* Atomic: libcurl's resolver threads allocate too. */
static atomic_uint_fast64_t calls;
static atomic_uint_fast64_t fail_at; /* 0: disarmed */
static atomic_bool sticky;           /* every call from fail_at on fails */
static const char *_Atomic hit_what;

bool ash_torture_available(void)
{
    return true;
}

void ash_torture_arm(uint64_t n)
{
    atomic_store(&fail_at, 0);
    atomic_store(&sticky, false);
    atomic_store(&calls, 0);
    atomic_store(&hit_what, NULL);
    atomic_store(&fail_at, n);
}

void ash_torture_arm_from(uint64_t n)
{
    ash_torture_arm(0);
    atomic_store(&sticky, true);
    atomic_store(&fail_at, n);
}

uint64_t ash_torture_calls(void)
{
    return atomic_load(&calls);
}

bool ash_torture_hit(const char **what)
{
    const char *w = atomic_load(&hit_what);
    if (what)
        *what = w;
    return w != NULL;
}

/* ASH_TORTURE_KILL=append:OP | done:OP, read at the first journal record. */
static atomic_uint_fast64_t kill_id; /* done:OP: the id of OP's first record (+1; 0: none yet) */

static const char *kill_spec(bool *at_done)
{
    const char *k = getenv("ASH_TORTURE_KILL");
    if (!k)
        return NULL;
    if (strncmp(k, "append:", 7) == 0) {
        *at_done = false;
        return k + 7;
    }
    if (strncmp(k, "done:", 5) == 0) {
        *at_done = true;
        return k + 5;
    }
    return NULL;
}

void ash_torture_journal_appended(const char *op, uint64_t id)
{
    bool at_done;
    const char *want = kill_spec(&at_done);
    if (!want || strcmp(want, op) != 0)
        return;
    if (!at_done)
        raise(SIGKILL); /* the record is durable; the change it undoes is not made */
    uint_fast64_t none = 0;
    atomic_compare_exchange_strong(&kill_id, &none, (uint_fast64_t)id + 1);
}

void ash_torture_journal_done(uint64_t id)
{
    if (atomic_load(&kill_id) == (uint_fast64_t)id + 1)
        raise(SIGKILL); /* the change undone; its done mark not written */
}

/* True when this call is the one to fail. */
static bool should_fail(const char *what)
{
    uint64_t n = atomic_fetch_add(&calls, 1) + 1;
    uint64_t at = atomic_load(&fail_at);
    if (at == 0 || n < at || (n > at && !atomic_load(&sticky)))
        return false;
    if (n == at)
        atomic_store(&hit_what, what);
    return true;
}

/* The real functions (resolved by the linker's --wrap) and their wrappers. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_open(const char *path, int flags, ...);
int __real_openat(int dirfd, const char *path, int flags, ...);
ssize_t __real_write(int fd, const void *buf, size_t len);
pid_t __real_fork(void);
int __real_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at,
                        char *const argv[], char *const envp[]);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_open(const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
ssize_t __wrap_write(int fd, const void *buf, size_t len);
pid_t __wrap_fork(void);
int __wrap_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at,
                        char *const argv[], char *const envp[]);

void *__wrap_malloc(size_t size)
{
    if (should_fail("malloc")) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (should_fail("calloc")) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    if (should_fail("realloc")) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
    if (should_fail("strdup")) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    if (should_fail("strndup")) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_strndup(s, n);
}

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
static mode_t open_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int __wrap_open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    if (should_fail("open")) {
        errno = EIO;
        return -1;
    }
    return __real_open(path, flags, mode);
}

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    if (should_fail("openat")) {
        errno = EIO;
        return -1;
    }
    return __real_openat(dirfd, path, flags, mode);
}

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
    if (should_fail("write")) {
        errno = EIO;
        return -1;
    }
    return __real_write(fd, buf, len);
}

pid_t __wrap_fork(void)
{
    if (should_fail("fork")) {
        errno = EAGAIN;
        return -1;
    }
    pid_t pid = __real_fork();
    if (pid == 0)
        atomic_store(&fail_at, 0);
    return pid;
}

/* ash_spawn's common path (sys/proc.c): a failed start, as a failed fork is. */
int __wrap_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at,
                        char *const argv[], char *const envp[])
{
    if (should_fail("posix_spawnp"))
        return EAGAIN;
    return __real_posix_spawnp(pid, file, fa, at, argv, envp);
}

#endif
