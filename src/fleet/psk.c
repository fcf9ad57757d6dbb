/* The fleet key file: 64 hex digits. A Swarm secret or a Kubernetes Secret mounts it as a file. */
#include "fleet/psk.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int ash_psk_generate(struct ash_psk *out, ash_error_t *err)
{
    int rc = gnutls_rnd(GNUTLS_RND_KEY, out->key, sizeof out->key);
    if (rc < 0)
        return ash_error(err, EIO, "cannot make a fleet key: %s", gnutls_strerror(rc));
    return 0;
}

void ash_psk_hex(const struct ash_psk *k, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof k->key && n + 3 <= len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%02x", k->key[i]);
    if (n + 2 <= len)
        snprintf(buf + n, len - n, "\n");
}

int ash_psk_write(const char *path, const struct ash_psk *k, ash_error_t *err)
{
    char hex[2 * ASH_PSK_BYTES + 2];
    ash_psk_hex(k, hex, sizeof hex);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return ash_error(err, errno, "cannot create the fleet key file %s", path);
    size_t n = strlen(hex);
    ssize_t w = write(fd, hex, n);
    int saved = errno;
    if (close(fd) < 0 && w == (ssize_t)n) {
        w = -1;
        saved = errno;
    }
    if (w != (ssize_t)n) {
        unlink(path);
        return ash_error(err, w < 0 ? saved : EIO, "cannot write the fleet key file %s", path);
    }
    return 0;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int ash_psk_read(const char *path, struct ash_psk *out, ash_error_t *err)
{
    char buf[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ash_error(err, errno, "cannot read the fleet key file %s", path);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int saved = errno;
    close(fd);
    if (n < 0)
        return ash_error(err, saved, "cannot read the fleet key file %s", path);
    buf[n] = '\0';
    size_t len = (size_t)n;
    while (len > 0 && isspace((unsigned char)buf[len - 1]))
        len--;
    if (len != 2 * ASH_PSK_BYTES)
        return ash_error_class(err, ASH_ERR_USAGE, 0,
                               "%s is not a fleet key: expected %d hex digits (the file the coordinator wrote), "
                               "found %zu characters",
                               path, 2 * ASH_PSK_BYTES, len);
    for (size_t i = 0; i < ASH_PSK_BYTES; i++) {
        int hi = hex_value((unsigned char)buf[2 * i]), lo = hex_value((unsigned char)buf[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ash_error_class(err, ASH_ERR_USAGE, 0, "%s is not a fleet key: '%c%c' at offset %zu is not hex",
                                   path, buf[2 * i], buf[2 * i + 1], 2 * i);
        out->key[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}
