/* The fleet's per-run pre-shared key: made by the coordinator, read by each agent from a file. */
#ifndef ASH_FLEET_PSK_H
#define ASH_FLEET_PSK_H

#include <aftershock/error.h>
#include <stddef.h>

/* 32 random bytes: TLS 1.3 with a PSK of this size keeps a 256-bit secret. */
#define ASH_PSK_BYTES 32

struct ash_psk {
    unsigned char key[ASH_PSK_BYTES];
};

/* A fresh key from GnuTLS's key-grade random generator. */
int ash_psk_generate(struct ash_psk *out, ash_error_t *err);
/* The key as 64 lowercase hex digits and a newline (the key file's format). */
void ash_psk_hex(const struct ash_psk *k, char *buf, size_t len);
/* Write the key file (0600, created anew: an existing file is refused). */
int ash_psk_write(const char *path, const struct ash_psk *k, ash_error_t *err);
/* Read a key file: 64 hex digits, optionally followed by whitespace. */
int ash_psk_read(const char *path, struct ash_psk *out, ash_error_t *err);

#endif
