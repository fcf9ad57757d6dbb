/* The hosts line of nsswitch.conf inside a sandbox host. A sandbox host's
 * names must come from its /etc/hosts and the sandbox's DNS server (its
 * resolv.conf) and nowhere else: a machine whose line also names `resolve`
 * (systemd-resolved), `mdns*`, `myhostname`, `nis`... would answer a host's
 * lookups through the machine's own resolver, past a DNS fault and out of
 * the sandbox's network. */
#ifndef ASH_ENV_NSS_H
#define ASH_ENV_NSS_H

#include <stddef.h>

/* text (len bytes) is an nsswitch.conf. Returns 1 and *out (malloc'd, NUL
 * terminated) when its hosts line names a source other than files and dns:
 * the same text with that line "hosts: files dns"; 0 when the line is
 * absent (glibc's default then is dns and files) or names only those; -1
 * when out of memory. */
int ash_nss_hosts_files_dns(const char *text, size_t len, char **out);

#endif
