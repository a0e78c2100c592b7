/* netaddr.h - IPv4/IPv6 addresses and prefixes, family-tagged.
 *
 * IPv4 addresses are stored in the first 4 bytes of a[]; the rest is zero,
 * so memcmp on the whole struct orders and compares addresses.
 */
#ifndef CALLSCOPE_NETADDR_H
#define CALLSCOPE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

typedef struct {
    uint8_t family; /* 4 or 6; 0 = unset */
    uint8_t a[16];
} netaddr_t;

typedef struct {
    netaddr_t addr;
    uint8_t len; /* prefix length in bits */
} netprefix_t;

void netaddr_set4(netaddr_t *n, const uint8_t b[4]);
void netaddr_set6(netaddr_t *n, const uint8_t b[16]);
int netaddr_cmp(const netaddr_t *x, const netaddr_t *y);
/* Writes the text form; returns buf. buflen >= NETADDR_STRLEN. */
const char *netaddr_fmt(const netaddr_t *n, char *buf, size_t buflen);
bool netaddr_parse(const char *s, netaddr_t *out);
/* RFC 1918, RFC 6598 (CGNAT), link-local, loopback, ULA fc00::/7. */
bool netaddr_is_private(const netaddr_t *n);
/* "a.b.c.d/len" or "x::/len"; a bare address means a host prefix. */
bool netprefix_parse(const char *s, netprefix_t *out);
bool netprefix_contains(const netprefix_t *p, const netaddr_t *n);

#endif
