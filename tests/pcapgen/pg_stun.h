/* pg_stun: STUN (RFC 5389), TURN (RFC 8656) and MS-TURN-like messages,
 * TURN ChannelData. All builders write into out[cap] and return the length
 * (0 if it does not fit). */
#ifndef PG_STUN_H
#define PG_STUN_H

#include <stddef.h>
#include <stdint.h>

#include "pg_wire.h"

#define PG_STUN_COOKIE 0x2112A442u

enum {
    PG_STUN_BIND_REQ = 0x0001,
    PG_STUN_BIND_OK = 0x0101,
    PG_STUN_ALLOC_REQ = 0x0003,
    PG_STUN_ALLOC_OK = 0x0103,
    PG_STUN_CHBIND_REQ = 0x0009,
    PG_STUN_CHBIND_OK = 0x0109,
    PG_STUN_SEND_IND = 0x0016,
    PG_STUN_DATA_IND = 0x0017
};

enum {
    PG_ATTR_LIFETIME = 0x000D,
    PG_ATTR_CHANNEL = 0x000C,
    PG_ATTR_XOR_PEER = 0x0012,
    PG_ATTR_DATA = 0x0013,
    PG_ATTR_XOR_RELAYED = 0x0016,
    PG_ATTR_REQ_TRANSPORT = 0x0019,
    PG_ATTR_XOR_MAPPED = 0x0020,
    PG_ATTR_MS_VERSION = 0x8008,
    PG_ATTR_FINGERPRINT = 0x8028
};

/* Low level: header, one attribute, XOR address attribute, finish
 * (sets the length, optionally appends FINGERPRINT). */
size_t pg_stun_begin(uint8_t *out, size_t cap, uint16_t type, const uint8_t tid[12]);
size_t pg_stun_attr(uint8_t *out, size_t cap, size_t off, uint16_t type, const uint8_t *v,
                    size_t n);
size_t pg_stun_xaddr(uint8_t *out, size_t cap, size_t off, uint16_t type, const pg_ep *ep);
size_t pg_stun_end(uint8_t *out, size_t cap, size_t off, int fingerprint);

size_t pg_stun_binding(uint8_t *out, size_t cap, const uint8_t tid[12],
                       const pg_ep *mapped /* NULL for the request */);
size_t pg_stun_allocate(uint8_t *out, size_t cap, const uint8_t tid[12],
                        const pg_ep *relayed /* NULL for the request */, const pg_ep *mapped);
size_t pg_stun_chbind(uint8_t *out, size_t cap, const uint8_t tid[12], uint16_t channel,
                      const pg_ep *peer /* NULL: resp */);
size_t pg_stun_indication(uint8_t *out, size_t cap, uint16_t type, const uint8_t tid[12],
                          const pg_ep *peer, const uint8_t *data, size_t n);
/* ChannelData: 4-byte header, data, zero padding to 4 when pad. */
size_t pg_turn_chdata(uint8_t *out, size_t cap, uint16_t channel, const uint8_t *data, size_t n,
                      int pad);

#endif
