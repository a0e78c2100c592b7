/* pg_rtp: RTP packets (RFC 3550) with the Teams-like abs-send-time
 * one-byte header extension (RFC 8285). */
#include "pg_rtp.h"

#include <string.h>

uint32_t pg_rtp_abs24(uint64_t t_us)
{
    return (uint32_t)((((t_us % (64 * PG_SEC)) << 18) / PG_SEC) & 0xffffff);
}

size_t pg_rtp_build(uint8_t *out, size_t cap, const pg_rtp_pkt *k, int abs_ext, pg_rng *r)
{
    size_t hdr = abs_ext ? 20 : 12;
    uint32_t abs;

    if (hdr + k->plen > cap) {
        return 0;
    }
    out[0] = abs_ext ? 0x90 : 0x80;
    out[1] = (uint8_t)((k->marker ? 0x80 : 0) | (k->pt & 0x7f));
    pg_put16(out + 2, k->seq);
    pg_put32(out + 4, k->ts);
    pg_put32(out + 8, k->ssrc);
    if (abs_ext) {
        abs = pg_rtp_abs24(k->send_us);
        pg_put16(out + 12, 0xBEDE);
        pg_put16(out + 14, 1);        /* one 32-bit word of elements */
        out[16] = (3 << 4) | (3 - 1); /* id 3, len field 2 => 3 bytes */
        out[17] = (uint8_t)(abs >> 16);
        out[18] = (uint8_t)(abs >> 8);
        out[19] = (uint8_t)abs;
    }
    pg_rng_fill(r, out + hdr, k->plen);
    return hdr + k->plen;
}

int32_t pg_rtp_register(pg_ctx *c, const pg_flow *f, int dir, const pg_sched *s, uint32_t clock,
                        const char *media, const char *app, int abs_ext)
{
    pg_stream_info in;

    memset(&in, 0, sizeof(in));
    pg_ep_str(&f->ep[dir], in.src, sizeof(in.src));
    pg_ep_str(&f->ep[!dir], in.dst, sizeof(in.dst));
    in.sport = f->ep[dir].port;
    in.dport = f->ep[!dir].port;
    in.ssrc = s->n > 0 ? s->v[0].ssrc : 0;
    in.pt = s->n > 0 ? s->v[0].pt : 0;
    in.clock = clock;
    in.media = media;
    in.app = app;
    in.encap = pg_flow_encap_name(f, dir);
    in.vlan = pg_flow_vlan_outer(c, f);
    in.has_abs = (uint8_t)(abs_ext != 0);
    return pg_truth_add(&c->truth, &in);
}

void pg_rtp_emit_one(pg_ctx *c, pg_flow *f, int dir, const pg_rtp_pkt *k, int32_t stream,
                     int abs_ext)
{
    uint8_t buf[PG_FRAME_MAX];
    size_t n = pg_rtp_build(buf, sizeof(buf), k, abs_ext, &c->rng);
    pg_meta m;

    m.stream = stream;
    m.lidx = k->lidx;
    m.ts = k->ts;
    m.abs24 = abs_ext ? pg_rtp_abs24(k->send_us) : 0;
    m.has_abs = (uint8_t)(abs_ext != 0);
    pg_flow_send(c, f, dir, k->arr_us, buf, n, &m);
}

void pg_rtp_emit(pg_ctx *c, pg_flow *f, int dir, const pg_sched *s, int32_t stream, int abs_ext)
{
    for (size_t i = 0; i < s->n; i++) {
        pg_rtp_emit_one(c, f, dir, &s->v[i], stream, abs_ext);
    }
}

int32_t pg_rtp_stream(pg_ctx *c, pg_flow *f, int dir, const pg_sched *s, uint32_t clock,
                      const char *media, const char *app, int abs_ext)
{
    int32_t id = pg_rtp_register(c, f, dir, s, clock, media, app, abs_ext);

    pg_rtp_emit(c, f, dir, s, id, abs_ext);
    return id;
}
