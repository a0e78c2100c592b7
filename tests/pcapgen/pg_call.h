/* pg_call: a Teams-like two-way audio call (STUN/TURN set-up, RTP both
 * ways with abs-send-time, SRTCP every 5 s), built as plans that a
 * scenario may impair before emitting. dir 0 = client -> relay. */
#ifndef PG_CALL_H
#define PG_CALL_H

#include <stdint.h>

#include "pg_ctx.h"
#include "pg_flow.h"
#include "pg_sched.h"

#define PG_TEAMS_PT_SILK16 104
#define PG_TEAMS_PT_H264UC 122

typedef struct {
    const char *client_ip;
    uint16_t client_port;
    uint8_t mac;
    const char *relay_ip;
    uint16_t relay_port;
    pg_encap encap;
    pg_vtag vlan[2];
    int nvlan;
} pg_call_par;

typedef struct {
    pg_flow flow;
    pg_sched plan[2];
    uint64_t t_media; /* first media send time */
    uint64_t t_end;
    int32_t sid[2]; /* truth stream ids after pg_call_emit */
} pg_call;

/* Endpoints for a client/relay pair. Returns 0 or -1 (bad address). */
int pg_call_flow(pg_ctx *c, pg_flow *f, const pg_call_par *p);
/* STUN Binding, Allocate (and ChannelBind for ChannelData flows, TCP
 * handshake for TCP flows) from t; returns the time after. */
uint64_t pg_call_setup(pg_ctx *c, pg_flow *f, uint64_t t);
/* Teams audio plan (PT 104, 16 kHz, 20 ms) in direction dir. */
int pg_call_audio_plan(pg_ctx *c, pg_sched *s, int dir, uint64_t t0, size_t count);
/* Teams video plan (90 kHz, 2-6 packets per frame). */
int pg_call_video_plan(pg_ctx *c, pg_sched *s, int dir, uint64_t t0, size_t frames, uint8_t pt,
                       uint32_t fps);
/* SRTCP from the dir side every period from t0 to t1. */
void pg_call_srtcp(pg_ctx *c, pg_flow *f, int dir, uint32_t ssrc, uint64_t t0, uint64_t t1,
                   uint64_t period);

/* Flow + set-up + audio plans for secs seconds; nothing emitted but the
 * set-up. Returns 0 or -1. */
int pg_call_teams(pg_ctx *c, pg_call *call, const pg_call_par *p, uint64_t t0, uint32_t secs);
/* Emits both plans (media "audio", app "teams") and SRTCP both ways. */
void pg_call_emit(pg_ctx *c, pg_call *call, const char *media);
void pg_call_free(pg_call *call);

#endif
