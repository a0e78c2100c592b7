#include "tcp_frame.h"

#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "demux.h"

/* RFC 4571 frame start: length 12..TCP_FRAME_MAX, then a STUN, ChannelData
 * or RTP/RTCP first byte (RFC 7983 ranges). */
static bool rfc4571_header(const cur_t *c)
{
    uint16_t flen;
    uint8_t b;
    if (!cur_peek_u16be(c, 0, &flen) || !cur_peek_u8(c, 2, &b))
        return false;
    demux_first_t first = demux_first_byte(b);
    bool media =
        first == DEMUX_FIRST_STUN || first == DEMUX_FIRST_CHANNELDATA || first == DEMUX_FIRST_RTP;
    return flen >= 12 && flen <= TCP_FRAME_MAX && media;
}

/* A segment starts RFC 4571 framing only if its frames chain exactly to
 * the segment's end: one plausible header alone is too easy to find in
 * TLS records (a capture that starts mid-session). */
static bool rfc4571_start(const uint8_t *p, size_t len)
{
    cur_t c;
    uint16_t flen;
    cur_init(&c, p, len);
    for (int frames = 0; frames < 16; frames++) {
        if (!rfc4571_header(&c))
            return false;
        (void)cur_u16be(&c, &flen); /* read by rfc4571_header */
        if (!cur_skip(&c, flen))
            return false;
        if (cur_left(&c) == 0)
            return true;
    }
    return false;
}

/* TURN-over-TCP message start: STUN with the magic cookie, or ChannelData
 * on a valid channel with a bounded length. */
static bool turn_start(const uint8_t *p, size_t len)
{
    cur_t c;
    uint8_t b;
    uint16_t mlen;
    uint32_t cookie;
    cur_init(&c, p, len);
    if (!cur_peek_u8(&c, 0, &b) || !cur_peek_u16be(&c, 2, &mlen))
        return false;
    demux_first_t first = demux_first_byte(b);
    if (first == DEMUX_FIRST_STUN)
        return cur_skip(&c, 4) && cur_u32be(&c, &cookie) && cookie == DEMUX_STUN_MAGIC &&
               mlen % 4 == 0 && mlen + 20u <= TCP_FRAME_MAX;
    return first == DEMUX_FIRST_CHANNELDATA && mlen + 4u <= TCP_FRAME_MAX;
}

static bool plausible_start(const tcp_deframer_t *d, const uint8_t *p, size_t len)
{
    return d->kind == TCP_FRAME_TURN ? turn_start(p, len) : rfc4571_start(p, len);
}

/* Total bytes of the frame whose header (2 bytes RFC 4571, 4 bytes TURN)
 * is in d->buf; 0 if invalid. */
static uint32_t frame_total(const tcp_deframer_t *d)
{
    cur_t c;
    uint8_t b;
    uint16_t n;
    cur_init(&c, d->buf, d->have);
    if (d->kind == TCP_FRAME_RFC4571) {
        if (!cur_peek_u16be(&c, 0, &n))
            return 0;
        return n == 0 || n > TCP_FRAME_MAX ? 0 : n + 2u;
    }
    if (!cur_peek_u8(&c, 0, &b) || !cur_peek_u16be(&c, 2, &n))
        return 0;
    switch (demux_first_byte(b)) {
    case DEMUX_FIRST_STUN:
        return n % 4 == 0 && n + 20u <= TCP_FRAME_MAX ? n + 20u : 0;
    case DEMUX_FIRST_CHANNELDATA:
        return n + 4u <= TCP_FRAME_MAX ? ((n + 3u) & ~3u) + 4u : 0;
    default:
        return 0;
    }
}

/* Moves up to want bytes of the segment into the frame buffer. */
static void take_bytes(tcp_deframer_t *d, cur_t *c, size_t want)
{
    size_t take = want < cur_left(c) ? want : cur_left(c);
    (void)cur_copy(c, d->buf + d->have, take); /* take <= cur_left */
    d->have += (uint32_t)take;
}

static void consume(tcp_deframer_t *d, cur_t *c, tcp_frame_fn fn, void *ctx)
{
    uint32_t hdr = d->kind == TCP_FRAME_RFC4571 ? 2 : 4;
    while (cur_left(c) > 0) {
        if (d->have < hdr) {
            take_bytes(d, c, hdr - d->have);
            continue;
        }
        uint32_t total = frame_total(d);
        if (total == 0) {
            d->synced = false; /* lost the boundaries */
            d->have = 0;
            d->resyncs++;
            return;
        }
        take_bytes(d, c, total - d->have);
        if (d->have == total) {
            d->frames++;
            if (d->kind == TCP_FRAME_RFC4571)
                fn(ctx, d->buf + 2, total - 2);
            else
                fn(ctx, d->buf, total);
            d->have = 0;
        }
    }
}

static bool hold(tcp_deframer_t *d, uint32_t seq, const cur_t *c)
{
    size_t len = cur_left(c);
    if (len > TCP_OOO_BYTES)
        return false;
    for (int i = 0; i < TCP_OOO_SLOTS; i++) {
        if (!d->ooo[i].used) {
            d->ooo[i].used = true;
            d->ooo[i].seq = seq;
            d->ooo[i].len = (uint32_t)len;
            memcpy(d->ooo[i].data, cur_here(c), len);
            d->reordered++;
            return true;
        }
    }
    return false;
}

static void drop_held(tcp_deframer_t *d)
{
    for (int i = 0; i < TCP_OOO_SLOTS; i++)
        d->ooo[i].used = false;
}

static void feed_one(tcp_deframer_t *d, uint32_t seq, cur_t *c, tcp_frame_fn fn, void *ctx);

/* Feeds held segments that now follow on. "Ahead" is decided exactly as
 * feed_one() decides it (next_seq - seq < 0, so a segment 2^31 away counts
 * as ahead on both sides and stays held): a segment fed here can never be
 * held again at once, and at most TCP_OOO_SLOTS rounds release something. */
static void release_held(tcp_deframer_t *d, tcp_frame_fn fn, void *ctx)
{
    bool progress = true;
    for (int round = 0; progress && round <= TCP_OOO_SLOTS; round++) {
        progress = false;
        for (int i = 0; i < TCP_OOO_SLOTS; i++) {
            if (!d->ooo[i].used || (int32_t)(d->next_seq - d->ooo[i].seq) < 0)
                continue;
            d->ooo[i].used = false;
            uint8_t tmp[TCP_OOO_BYTES];
            cur_t c;
            memcpy(tmp, d->ooo[i].data, d->ooo[i].len);
            cur_init(&c, tmp, d->ooo[i].len);
            feed_one(d, d->ooo[i].seq, &c, fn, ctx);
            progress = true;
        }
    }
}

static void feed_one(tcp_deframer_t *d, uint32_t seq, cur_t *c, tcp_frame_fn fn, void *ctx)
{
    size_t len = cur_left(c);
    if (d->synced && seq != d->next_seq) {
        int32_t behind = (int32_t)(d->next_seq - seq);
        if (behind > 0 && (size_t)behind >= len) { /* all seen before */
            d->retransmits++;
            return;
        }
        if (behind > 0) { /* overlaps what we have: keep only the new bytes */
            d->retransmits++;
            (void)cur_skip(c, (size_t)behind); /* behind < len */
            seq = d->next_seq;
        } else if (hold(d, seq, c)) {
            return; /* ahead of a missing segment: wait for it */
        } else {
            d->synced = false; /* a gap that did not fill: the partial frame is gone */
            d->resyncs++;
            drop_held(d);
        }
    }
    if (!d->synced) {
        if (!plausible_start(d, cur_here(c), cur_left(c)))
            return;
        d->synced = true;
        d->have = 0;
    }
    d->next_seq = seq + (uint32_t)cur_left(c);
    consume(d, c, fn, ctx);
}

tcp_frame_kind_t tcp_frame_detect(const uint8_t *p, size_t len)
{
    if (turn_start(p, len))
        return TCP_FRAME_TURN;
    return rfc4571_start(p, len) ? TCP_FRAME_RFC4571 : TCP_FRAME_NONE;
}

void tcp_frame_init(tcp_deframer_t *d, tcp_frame_kind_t kind, uint32_t seq)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->synced = kind != TCP_FRAME_NONE;
    d->next_seq = seq;
}

void tcp_frame_feed(tcp_deframer_t *d, uint32_t seq, const uint8_t *p, size_t len, tcp_frame_fn fn,
                    void *ctx)
{
    cur_t c;
    if (len == 0 || d->kind == TCP_FRAME_NONE)
        return;
    cur_init(&c, p, len);
    feed_one(d, seq, &c, fn, ctx);
    release_held(d, fn, ctx);
}
