/* Listen addresses: "ADDRESS:PORT" or "[V6]:PORT". */
#ifndef ASH_SYS_ADDR_H
#define ASH_SYS_ADDR_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/socket.h>

/* Parse into sa (may be NULL to only check); -1 with the reason in why. */
/* 127.0.0.0/8 or ::1. */
bool ash_addr_is_loopback(const struct sockaddr_storage *ss);
int ash_parse_listen(const char *s, struct sockaddr_storage *sa, char *why, size_t len);

#endif
