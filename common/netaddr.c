#include "netaddr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

void netaddr_set4(netaddr_t *n, const uint8_t b[4])
{
    memset(n, 0, sizeof *n);
    n->family = 4;
    memcpy(n->a, b, 4);
}

void netaddr_set6(netaddr_t *n, const uint8_t b[16])
{
    memset(n, 0, sizeof *n);
    n->family = 6;
    memcpy(n->a, b, 16);
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

int netaddr_cmp(const netaddr_t *x, const netaddr_t *y)
{
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    /* memcmp()'s order, a word at a time: big-endian words compare as bytes */
    for (int i = 0; i < 16; i += 8) {
        uint64_t a = load_be64(x->a + i), b = load_be64(y->a + i);
        if (a != b)
            return a < b ? -1 : 1;
    }
    return 0;
}

/* Dotted quad, as inet_ntop() writes it, without its sprintf(). */
static void fmt4(const uint8_t a[4], char *buf)
{
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100)
            *buf++ = (char)('0' + v / 100);
        if (v >= 10)
            *buf++ = (char)('0' + v / 10 % 10);
        *buf++ = (char)('0' + v % 10);
        *buf++ = i < 3 ? '.' : '\0';
    }
}

const char *netaddr_fmt(const netaddr_t *n, char *buf, size_t buflen)
{
    const char *r = NULL;
    if (n->family == 4 && buflen >= 16) {
        fmt4(n->a, buf);
        return buf;
    }
    if (n->family == 4)
        r = inet_ntop(AF_INET, n->a, buf, (socklen_t)buflen);
    else if (n->family == 6)
        r = inet_ntop(AF_INET6, n->a, buf, (socklen_t)buflen);
    if (!r && buflen > 0)
        buf[0] = '\0';
    return buf;
}

bool netaddr_parse(const char *s, netaddr_t *out)
{
    uint8_t b[16];
    if (inet_pton(AF_INET, s, b) == 1) {
        netaddr_set4(out, b);
        return true;
    }
    if (inet_pton(AF_INET6, s, b) == 1) {
        netaddr_set6(out, b);
        return true;
    }
    return false;
}

/* RFC 1918, RFC 6598 (CGNAT), link-local, loopback; ULA, IPv6 link-local
 * and loopback. Kept as bytes so the check parses nothing. */
static const netprefix_t private_prefixes[] = {
    {{4, {10}}, 8},
    {{4, {172, 16}}, 12},
    {{4, {192, 168}}, 16},
    {{4, {100, 64}}, 10},
    {{4, {169, 254}}, 16},
    {{4, {127}}, 8},
    {{6, {0xfc}}, 7},
    {{6, {0xfe, 0x80}}, 10},
    {{6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}, 128},
};

bool netaddr_is_private(const netaddr_t *n)
{
    for (size_t i = 0; i < sizeof private_prefixes / sizeof private_prefixes[0]; i++)
        if (netprefix_contains(&private_prefixes[i], n))
            return true;
    return false;
}

bool netprefix_parse(const char *s, netprefix_t *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    long len = -1;
    if (slash) {
        char *end = NULL;
        *slash = '\0';
        len = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || len < 0)
            return false;
    }
    if (!netaddr_parse(buf, &out->addr))
        return false;
    long max = out->addr.family == 4 ? 32 : 128;
    if (len < 0)
        len = max;
    if (len > max)
        return false;
    out->len = (uint8_t)len;
    return true;
}

bool netprefix_contains(const netprefix_t *p, const netaddr_t *n)
{
    if (p->addr.family != n->family)
        return false;
    unsigned full = p->len / 8, rest = p->len % 8;
    if (memcmp(p->addr.a, n->a, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (p->addr.a[full] & mask) == (n->a[full] & mask);
}
