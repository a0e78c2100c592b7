/* pg_rtp: RTP serialisation and emission of a stream plan. */
#ifndef PG_RTP_H
#define PG_RTP_H

#include <stddef.h>
#include <stdint.h>

#include "pg_ctx.h"
#include "pg_flow.h"
#include "pg_sched.h"

/* 24-bit abs-send-time, 6.18 fixed point seconds (wraps every 64 s). */
uint32_t pg_rtp_abs24(uint64_t t_us);
/* RTP v2 packet; with abs_ext, X bit + RFC 8285 one-byte extension
 * (0xBEDE, id 3, 3 bytes abs-send-time). Payload is random bytes. */
size_t pg_rtp_build(uint8_t *out, size_t cap, const pg_rtp_pkt *k, int abs_ext, pg_rng *r);
/* Registers the truth stream for plan s sent on flow f in direction dir. */
int32_t pg_rtp_register(pg_ctx *c, const pg_flow *f, int dir, const pg_sched *s, uint32_t clock,
                        const char *media, const char *app, int abs_ext);
/* One packet of a plan. */
void pg_rtp_emit_one(pg_ctx *c, pg_flow *f, int dir, const pg_rtp_pkt *k, int32_t stream,
                     int abs_ext);
void pg_rtp_emit(pg_ctx *c, pg_flow *f, int dir, const pg_sched *s, int32_t stream, int abs_ext);
/* Register + emit; returns the stream id. */
int32_t pg_rtp_stream(pg_ctx *c, pg_flow *f, int dir, const pg_sched *s, uint32_t clock,
                      const char *media, const char *app, int abs_ext);

#endif
