/* pg_stun: STUN/TURN message construction. */
#include "pg_stun.h"

#include <string.h>

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

size_t pg_stun_begin(uint8_t *out, size_t cap, uint16_t type, const uint8_t tid[12])
{
    if (cap < 20) {
        return 0;
    }
    pg_put16(out, type);
    pg_put16(out + 2, 0);
    pg_put32(out + 4, PG_STUN_COOKIE);
    memcpy(out + 8, tid, 12);
    return 20;
}

size_t pg_stun_attr(uint8_t *out, size_t cap, size_t off, uint16_t type, const uint8_t *v, size_t n)
{
    size_t padded = (n + 3) & ~(size_t)3;

    if (off == 0 || off + 4 + padded > cap || n > 0xffff) {
        return 0;
    }
    pg_put16(out + off, type);
    pg_put16(out + off + 2, (uint16_t)n);
    if (n > 0) {
        memcpy(out + off + 4, v, n);
    }
    memset(out + off + 4 + n, 0, padded - n);
    return off + 4 + padded;
}

size_t pg_stun_xaddr(uint8_t *out, size_t cap, size_t off, uint16_t type, const pg_ep *ep)
{
    uint8_t v[20];
    size_t alen = ep->fam == 6 ? 16 : 4;

    if (off < 20) {
        return 0;
    }
    v[0] = 0;
    v[1] = ep->fam == 6 ? 0x02 : 0x01;
    pg_put16(v + 2, (uint16_t)(ep->port ^ (PG_STUN_COOKIE >> 16)));
    for (size_t i = 0; i < alen; i++) {
        /* cookie then transaction id: bytes 4..19 of the header */
        v[4 + i] = ep->ip[i] ^ out[4 + i];
    }
    return pg_stun_attr(out, cap, off, type, v, 4 + alen);
}

size_t pg_stun_end(uint8_t *out, size_t cap, size_t off, int fingerprint)
{
    uint8_t fp[4];

    if (off < 20) {
        return 0;
    }
    if (fingerprint) {
        if (off + 8 > cap) {
            return 0;
        }
        pg_put16(out + 2, (uint16_t)(off + 8 - 20));
        pg_put32(fp, crc32_ieee(out, off) ^ 0x5354554eu);
        return pg_stun_attr(out, cap, off, PG_ATTR_FINGERPRINT, fp, 4);
    }
    pg_put16(out + 2, (uint16_t)(off - 20));
    return off;
}

size_t pg_stun_binding(uint8_t *out, size_t cap, const uint8_t tid[12], const pg_ep *mapped)
{
    size_t o = pg_stun_begin(out, cap, mapped ? PG_STUN_BIND_OK : PG_STUN_BIND_REQ, tid);
    if (mapped != NULL) {
        o = pg_stun_xaddr(out, cap, o, PG_ATTR_XOR_MAPPED, mapped);
    }
    return pg_stun_end(out, cap, o, 1);
}

size_t pg_stun_allocate(uint8_t *out, size_t cap, const uint8_t tid[12], const pg_ep *relayed,
                        const pg_ep *mapped)
{
    static const uint8_t udp[4] = {17, 0, 0, 0};
    static const uint8_t life[4] = {0, 0, 0x02, 0x58}; /* 600 s */
    static const uint8_t msver[4] = {0, 0, 0, 6};
    size_t o = pg_stun_begin(out, cap, relayed ? PG_STUN_ALLOC_OK : PG_STUN_ALLOC_REQ, tid);

    o = pg_stun_attr(out, cap, o, PG_ATTR_MS_VERSION, msver, 4);
    if (relayed == NULL) {
        o = pg_stun_attr(out, cap, o, PG_ATTR_REQ_TRANSPORT, udp, 4);
    } else {
        o = pg_stun_xaddr(out, cap, o, PG_ATTR_XOR_RELAYED, relayed);
        o = pg_stun_xaddr(out, cap, o, PG_ATTR_XOR_MAPPED, mapped);
    }
    o = pg_stun_attr(out, cap, o, PG_ATTR_LIFETIME, life, 4);
    return pg_stun_end(out, cap, o, 0);
}

size_t pg_stun_chbind(uint8_t *out, size_t cap, const uint8_t tid[12], uint16_t channel,
                      const pg_ep *peer)
{
    uint8_t ch[4] = {0, 0, 0, 0};
    size_t o = pg_stun_begin(out, cap, peer ? PG_STUN_CHBIND_REQ : PG_STUN_CHBIND_OK, tid);

    if (peer != NULL) {
        pg_put16(ch, channel);
        o = pg_stun_attr(out, cap, o, PG_ATTR_CHANNEL, ch, 4);
        o = pg_stun_xaddr(out, cap, o, PG_ATTR_XOR_PEER, peer);
    }
    return pg_stun_end(out, cap, o, 0);
}

size_t pg_stun_indication(uint8_t *out, size_t cap, uint16_t type, const uint8_t tid[12],
                          const pg_ep *peer, const uint8_t *data, size_t n)
{
    size_t o = pg_stun_begin(out, cap, type, tid);

    o = pg_stun_xaddr(out, cap, o, PG_ATTR_XOR_PEER, peer);
    o = pg_stun_attr(out, cap, o, PG_ATTR_DATA, data, n);
    return pg_stun_end(out, cap, o, 0);
}

size_t pg_turn_chdata(uint8_t *out, size_t cap, uint16_t channel, const uint8_t *data, size_t n,
                      int pad)
{
    size_t total = 4 + n;
    size_t padded = pad ? (total + 3) & ~(size_t)3 : total;

    if (padded > cap || n > 0xffff) {
        return 0;
    }
    pg_put16(out, channel);
    pg_put16(out + 2, (uint16_t)n);
    memcpy(out + 4, data, n);
    memset(out + total, 0, padded - total);
    return padded;
}
