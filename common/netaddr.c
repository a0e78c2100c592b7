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

int netaddr_cmp(const netaddr_t *x, const netaddr_t *y)
{
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    return memcmp(x->a, y->a, 16);
}

const char *netaddr_fmt(const netaddr_t *n, char *buf, size_t buflen)
{
    const char *r = NULL;
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

static const char *const private_prefixes[] = {
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
    "127.0.0.0/8", "fc00::/7",     "fe80::/10",      "::1/128",
};

bool netaddr_is_private(const netaddr_t *n)
{
    for (size_t i = 0; i < sizeof private_prefixes / sizeof private_prefixes[0]; i++) {
        netprefix_t p;
        if (netprefix_parse(private_prefixes[i], &p) && netprefix_contains(&p, n))
            return true;
    }
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
