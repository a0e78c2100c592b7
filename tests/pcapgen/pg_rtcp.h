/* pg_rtcp: plain RTCP (RFC 3550 SR, RR, SDES) and SRTCP-shaped packets. */
#ifndef PG_RTCP_H
#define PG_RTCP_H

#include <stddef.h>
#include <stdint.h>

#include "pg_rng.h"
#include "pg_sched.h"

typedef struct {
    uint32_t ssrc;
    uint8_t frac;
    int32_t cum_lost;
    uint32_t ext_max;
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr;
} pg_rb;

typedef struct {
    uint64_t exp_prior;
    uint64_t rcv_prior;
} pg_rb_state;

typedef struct {
    uint32_t ssrc;
    uint64_t ntp;
    uint32_t rtp_ts;
    uint32_t pkts;
    uint32_t octets;
} pg_sr_info;

uint64_t pg_rtcp_ntp(uint64_t t_us);
/* Middle 32 bits of an NTP timestamp (LSR). */
uint32_t pg_rtcp_ntp_mid(uint64_t ntp);
size_t pg_rtcp_sr(uint8_t *out, size_t cap, const pg_sr_info *si, const pg_rb *rb, int nrb);
size_t pg_rtcp_rr(uint8_t *out, size_t cap, uint32_t ssrc, const pg_rb *rb, int nrb);
size_t pg_rtcp_sdes(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname);
/* SRTCP: clear 8-byte SR header, random (encrypted) body, E bit + index,
 * 10-byte auth tag. */
size_t pg_srtcp(uint8_t *out, size_t cap, pg_rng *r, uint32_t ssrc, uint32_t index);
/* Receiver report block over the packets of s that arrived by upto_us
 * (fraction lost relative to *st, which is updated). lsr/dlsr left 0. */
void pg_rtcp_rb(pg_rb *rb, const pg_sched *s, uint32_t clock, uint64_t upto_us, pg_rb_state *st);
/* Sender info for the packets of s sent by t_us. */
void pg_rtcp_sender(pg_sr_info *si, const pg_sched *s, uint32_t clock, uint64_t t_us);

#endif
