/* pg_flow: a two-way transport association (UDP or TCP) between a local
 * endpoint (ep[0], dir 0 = outbound) and a remote one (ep[1], dir 1),
 * with an optional media encapsulation and VLAN tags. */
#ifndef PG_FLOW_H
#define PG_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "pg_ctx.h"
#include "pg_wire.h"

typedef enum {
    PG_ENC_RAW,
    PG_ENC_CHDATA,
    PG_ENC_STUN_IND, /* Send indication outbound, Data indication inbound */
    PG_ENC_TCP4571
} pg_encap;

typedef struct {
    pg_ep ep[2];
    int tcp;
    pg_encap encap;
    uint16_t channel;
    pg_ep peer; /* XOR-PEER-ADDRESS for STUN indications / ChannelBind */
    pg_vtag vlan[2];
    int nvlan;
    uint32_t seq[2]; /* TCP next sequence number per direction */
    uint16_t ip_id[2];
} pg_flow;

void pg_flow_init(pg_flow *f, pg_ctx *c, const pg_ep *local, const pg_ep *remote, pg_encap enc);
void pg_flow_vlan(pg_flow *f, uint16_t tpid, uint16_t id);
/* Media send: applies the flow's encapsulation. */
void pg_flow_send(pg_ctx *c, pg_flow *f, int dir, uint64_t t, const uint8_t *p, size_t n,
                  const pg_meta *meta);
/* Control send: the bytes go straight into the UDP/TCP payload. */
void pg_flow_send_plain(pg_ctx *c, pg_flow *f, int dir, uint64_t t, const uint8_t *p, size_t n);
/* TCP: SYN, SYN/ACK, ACK starting at t, one rtt apart. */
void pg_flow_tcp_open(pg_ctx *c, pg_flow *f, uint64_t t, uint64_t rtt);
/* Builds the frame of a TCP segment without emitting it. */
void pg_flow_tcp_frame(pg_ctx *c, pg_flow *f, int dir, uint8_t flags, const uint8_t *p, size_t n,
                       pg_frame *out);
void pg_flow_l2(const pg_ctx *c, const pg_flow *f, int dir, pg_l2 *l2);
/* Encapsulation label for the truth file (STUN indications: outbound is a
 * Send indication, inbound a Data indication). */
const char *pg_flow_encap_name(const pg_flow *f, int dir);
/* Outer VLAN id as it appears on the wire, or -1. */
int pg_flow_vlan_outer(const pg_ctx *c, const pg_flow *f);

#endif
