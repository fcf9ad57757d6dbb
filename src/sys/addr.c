/* Listen addresses as scenarios write them: "ADDRESS:PORT" or "[V6]:PORT". Kept below
 * every layer that reads one (scenario validation, the DNS server, the dns probe). */
#include "sys/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ash_parse_listen(const char *s, struct sockaddr_storage *sa, char *why, size_t len)
{
    struct sockaddr_storage tmp;
    if (!sa)
        sa = &tmp;
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || colon == s || !colon[1]) {
        snprintf(why, len, "expected ADDRESS:PORT, e.g. 127.0.0.1:5353");
        return -1;
    }
    char host[INET6_ADDRSTRLEN + 2];
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl >= sizeof host) {
        snprintf(why, len, "the address is too long");
        return -1;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        snprintf(why, len, "the port must be a number 0-65535");
        return -1;
    }
    memset(sa, 0, sizeof *sa);
    struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
    } else {
        snprintf(why, len, "'%s' is not an IPv4 or IPv6 address", host);
        return -1;
    }
    return 0;
}

bool ash_addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return false;
}
