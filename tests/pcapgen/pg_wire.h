/* pg_wire: endpoints and frame assembly (link layer, IPv4/IPv6, UDP, TCP). */
#ifndef PG_WIRE_H
#define PG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define PG_FRAME_MAX 2048

enum { PG_LT_NULL = 0, PG_LT_EN10MB = 1, PG_LT_RAW = 101, PG_LT_SLL = 113, PG_LT_SLL2 = 276 };

enum { PG_TCP_FIN = 0x01, PG_TCP_SYN = 0x02, PG_TCP_PSH = 0x08, PG_TCP_ACK = 0x10 };

typedef struct {
    uint8_t fam; /* 4 or 6 */
    uint8_t ip[16];
    uint16_t port;
    uint8_t mac[6];
} pg_ep;

typedef struct {
    uint16_t tpid;
    uint16_t id;
} pg_vtag;

typedef struct {
    uint32_t linktype;
    pg_vtag vlan[2];
    int nvlan;
    int outbound; /* SLL packet type: 4 = outgoing, 0 = to us */
} pg_l2;

/* A frame under construction, with the offsets of each layer. */
typedef struct {
    uint8_t b[PG_FRAME_MAX];
    size_t len;
    size_t l3;
    size_t l4;
    size_t pay;
} pg_frame;

/* Client-side endpoint: MAC 02:00:00:00:00:<mac_last>. Returns 0 or -1. */
int pg_ep_local(pg_ep *ep, const char *ip, uint16_t port, uint8_t mac_last);
/* Far endpoint behind the gateway: MAC 02:00:00:00:ff:01. */
int pg_ep_remote(pg_ep *ep, const char *ip, uint16_t port);
void pg_ep_str(const pg_ep *ep, char *out, size_t cap);

uint16_t pg_wire_csum(const uint8_t *p, size_t n, uint32_t acc);

/* Link header for an L3 packet of family fam (4/6); sets f->len, f->l3. */
void pg_wire_l2(pg_frame *f, const pg_l2 *l2, const pg_ep *src, const pg_ep *dst, int fam);
/* Full UDP packet (checksum computed for both families). */
void pg_wire_udp(pg_frame *f, const pg_l2 *l2, const pg_ep *src, const pg_ep *dst,
                 const uint8_t *pay, size_t n, uint16_t ip_id);
void pg_wire_tcp(pg_frame *f, const pg_l2 *l2, const pg_ep *src, const pg_ep *dst, uint32_t seq,
                 uint32_t ack, uint8_t flags, const uint8_t *pay, size_t n, uint16_t ip_id);
/* IP header only (at f->len), protocol proto, l4len bytes to follow. */
void pg_wire_ip(pg_frame *f, const pg_ep *src, const pg_ep *dst, uint8_t proto, size_t l4len,
                uint16_t ip_id);
/* Recompute the IPv4 header checksum of the frame. */
void pg_wire_ip4_fix(pg_frame *f);

static inline void pg_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void pg_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
