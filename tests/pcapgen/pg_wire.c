/* pg_wire: frame assembly. Everything is written byte by byte in network
 * order; no struct is overlaid on frame memory. */
#include "pg_wire.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t gw_mac[6] = {0x02, 0, 0, 0, 0xff, 0x01};

static int ep_ip(pg_ep *ep, const char *ip)
{
    memset(ep->ip, 0, sizeof(ep->ip));
    if (inet_pton(AF_INET, ip, ep->ip) == 1) {
        ep->fam = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, ep->ip) == 1) {
        ep->fam = 6;
        return 0;
    }
    return -1;
}

int pg_ep_local(pg_ep *ep, const char *ip, uint16_t port, uint8_t mac_last)
{
    static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0};

    memcpy(ep->mac, mac, 6);
    ep->mac[5] = mac_last;
    ep->port = port;
    return ep_ip(ep, ip);
}

int pg_ep_remote(pg_ep *ep, const char *ip, uint16_t port)
{
    memcpy(ep->mac, gw_mac, 6);
    ep->port = port;
    return ep_ip(ep, ip);
}

void pg_ep_str(const pg_ep *ep, char *out, size_t cap)
{
    if (inet_ntop(ep->fam == 6 ? AF_INET6 : AF_INET, ep->ip, out, (socklen_t)cap) == NULL &&
        cap > 0) {
        out[0] = '\0';
    }
}

uint16_t pg_wire_csum(const uint8_t *p, size_t n, uint32_t acc)
{
    size_t i;

    for (i = 0; i + 1 < n; i += 2) {
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    }
    if (i < n) {
        acc += (uint32_t)p[i] << 8;
    }
    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return (uint16_t)~acc;
}

static uint16_t ethertype_of(int fam)
{
    return fam == 6 ? 0x86dd : 0x0800;
}

static void l2_eth(pg_frame *f, const pg_l2 *l2, const pg_ep *src, const pg_ep *dst, int fam)
{
    uint8_t *p = f->b;
    size_t o = 12;

    memcpy(p, dst->mac, 6);
    memcpy(p + 6, src->mac, 6);
    for (int i = 0; i < l2->nvlan; i++) {
        pg_put16(p + o, l2->vlan[i].tpid);
        pg_put16(p + o + 2, l2->vlan[i].id & 0x0fff);
        o += 4;
    }
    pg_put16(p + o, ethertype_of(fam));
    f->len = o + 2;
}

static void l2_sll(pg_frame *f, const pg_l2 *l2, const pg_ep *src, int fam)
{
    uint8_t *p = f->b;

    memset(p, 0, 16);
    pg_put16(p, l2->outbound ? 4 : 0);
    pg_put16(p + 2, 1); /* ARPHRD_ETHER */
    pg_put16(p + 4, 6);
    memcpy(p + 6, src->mac, 6);
    pg_put16(p + 14, ethertype_of(fam));
    f->len = 16;
}

static void l2_sll2(pg_frame *f, const pg_l2 *l2, const pg_ep *src, int fam)
{
    uint8_t *p = f->b;

    memset(p, 0, 20);
    pg_put16(p, ethertype_of(fam));
    pg_put32(p + 4, 2); /* ifindex */
    pg_put16(p + 8, 1); /* ARPHRD_ETHER */
    p[10] = l2->outbound ? 4 : 0;
    p[11] = 6;
    memcpy(p + 12, src->mac, 6);
    f->len = 20;
}

void pg_wire_l2(pg_frame *f, const pg_l2 *l2, const pg_ep *src, const pg_ep *dst, int fam)
{
    uint32_t af;

    switch (l2->linktype) {
    case PG_LT_EN10MB:
        l2_eth(f, l2, src, dst, fam);
        break;
    case PG_LT_SLL:
        l2_sll(f, l2, src, fam);
        break;
    case PG_LT_SLL2:
        l2_sll2(f, l2, src, fam);
        break;
    case PG_LT_NULL:
        af = fam == 6 ? 24u : 2u; /* host order, as DLT_NULL requires */
        memcpy(f->b, &af, 4);
        f->len = 4;
        break;
    default:
        f->len = 0;
        break;
    }
    f->l3 = f->len;
}

void pg_wire_ip4_fix(pg_frame *f)
{
    uint8_t *ip = f->b + f->l3;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;

    pg_put16(ip + 10, 0);
    pg_put16(ip + 10, pg_wire_csum(ip, ihl, 0));
}

void pg_wire_ip(pg_frame *f, const pg_ep *src, const pg_ep *dst, uint8_t proto, size_t l4len,
                uint16_t ip_id)
{
    uint8_t *ip = f->b + f->len;

    f->l3 = f->len;
    if (src->fam == 6) {
        ip[0] = 0x60;
        ip[1] = 0;
        ip[2] = 0;
        ip[3] = 0;
        pg_put16(ip + 4, (uint16_t)l4len);
        ip[6] = proto;
        ip[7] = 64;
        memcpy(ip + 8, src->ip, 16);
        memcpy(ip + 24, dst->ip, 16);
        f->len += 40;
    } else {
        ip[0] = 0x45;
        ip[1] = 0;
        pg_put16(ip + 2, (uint16_t)(20 + l4len));
        pg_put16(ip + 4, ip_id);
        pg_put16(ip + 6, 0x4000); /* DF */
        ip[8] = 64;
        ip[9] = proto;
        memcpy(ip + 12, src->ip, 4);
        memcpy(ip + 16, dst->ip, 4);
        f->len += 20;
        pg_wire_ip4_fix(f);
    }
    f->l4 = f->len;
}

static uint16_t l4_csum(const pg_frame *f, uint8_t proto, size_t l4len)
{
    const uint8_t *ip = f->b + f->l3;
    uint32_t acc = 0;
    size_t alen = (ip[0] >> 4) == 6 ? 16 : 4;
    const uint8_t *s = ip + (alen == 16 ? 8 : 12);

    for (size_t i = 0; i < 2 * alen; i += 2) {
        acc += (uint32_t)s[i] << 8 | s[i + 1];
    }
    acc += proto;
    acc += (uint32_t)(l4len & 0xffff);
    acc += (uint32_t)(l4len >> 16);
    return pg_wire_csum(f->b + f->l4, l4len, acc);
}

void pg_wire_udp(pg_frame *f, const pg_l2 *l2, const pg_ep *src, const pg_ep *dst,
                 const uint8_t *pay, size_t n, uint16_t ip_id)
{
    uint8_t *u;
    uint16_t ck;

    if (n > PG_FRAME_MAX - 100) {
        n = PG_FRAME_MAX - 100;
    }
    pg_wire_l2(f, l2, src, dst, src->fam);
    pg_wire_ip(f, src, dst, 17, 8 + n, ip_id);
    u = f->b + f->l4;
    pg_put16(u, src->port);
    pg_put16(u + 2, dst->port);
    pg_put16(u + 4, (uint16_t)(8 + n));
    pg_put16(u + 6, 0);
    memcpy(u + 8, pay, n);
    f->pay = f->l4 + 8;
    f->len = f->pay + n;
    ck = l4_csum(f, 17, 8 + n);
    pg_put16(u + 6, ck == 0 ? 0xffff : ck);
}

void pg_wire_tcp(pg_frame *f, const pg_l2 *l2, const pg_ep *src, const pg_ep *dst, uint32_t seq,
                 uint32_t ack, uint8_t flags, const uint8_t *pay, size_t n, uint16_t ip_id)
{
    uint8_t *t;

    if (n > PG_FRAME_MAX - 100) {
        n = PG_FRAME_MAX - 100;
    }
    pg_wire_l2(f, l2, src, dst, src->fam);
    pg_wire_ip(f, src, dst, 6, 20 + n, ip_id);
    t = f->b + f->l4;
    pg_put16(t, src->port);
    pg_put16(t + 2, dst->port);
    pg_put32(t + 4, seq);
    pg_put32(t + 8, (flags & PG_TCP_ACK) ? ack : 0);
    t[12] = 5 << 4;
    t[13] = flags;
    pg_put16(t + 14, 64240);
    pg_put16(t + 16, 0);
    pg_put16(t + 18, 0);
    if (n > 0) {
        memcpy(t + 20, pay, n);
    }
    f->pay = f->l4 + 20;
    f->len = f->pay + n;
    pg_put16(t + 16, l4_csum(f, 6, 20 + n));
}
