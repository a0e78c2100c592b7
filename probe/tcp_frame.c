#include "tcp_frame.h"

#include <stdio.h>
#include <string.h>

/* RFC 4571 frame start: length 4..TCP_FRAME_MAX, then a STUN, ChannelData
 * or RTP/RTCP first byte (RFC 7983 ranges). */
static bool rfc4571_header(const uint8_t *p, size_t len)
{
    if (len < 3)
        return false;
    uint16_t flen = (uint16_t)((p[0] << 8) | p[1]);
    uint8_t b = p[2];
    bool media = b <= 3 || (b >= 64 && b <= 79) || (b >= 128 && b <= 191);
    return flen >= 12 && flen <= TCP_FRAME_MAX && media;
}

/* A segment starts RFC 4571 framing only if its frames chain exactly to
 * the segment's end: one plausible header alone is too easy to find in
 * TLS records (a capture that starts mid-session). */
static bool rfc4571_start(const uint8_t *p, size_t len)
{
    size_t off = 0;
    for (int frames = 0; frames < 16; frames++) {
        if (!rfc4571_header(p + off, len - off))
            return false;
        off += 2u + (size_t)((p[off] << 8) | p[off + 1]);
        if (off == len)
            return true;
        if (off > len)
            return false;
    }
    return false;
}

/* TURN-over-TCP message start: STUN with the magic cookie, or ChannelData
 * on a valid channel with a bounded length. */
static bool turn_start(const uint8_t *p, size_t len)
{
    if (len < 4)
        return false;
    uint16_t mlen = (uint16_t)((p[2] << 8) | p[3]);
    if (p[0] <= 3)
        return len >= 8 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xA4 && p[7] == 0x42 &&
               mlen % 4 == 0 && mlen + 20u <= TCP_FRAME_MAX;
    return p[0] >= 0x40 && p[0] <= 0x4F && mlen + 4u <= TCP_FRAME_MAX;
}

static bool plausible_start(const tcp_deframer_t *d, const uint8_t *p, size_t len)
{
    return d->kind == TCP_FRAME_TURN ? turn_start(p, len) : rfc4571_start(p, len);
}

/* Total bytes of the frame whose first 4 bytes are in buf; 0 if invalid. */
static uint32_t frame_total(const tcp_deframer_t *d, const uint8_t *b)
{
    uint32_t n = ((uint32_t)b[2] << 8) | b[3];
    if (d->kind == TCP_FRAME_RFC4571) {
        n = ((uint32_t)b[0] << 8) | b[1];
        return n == 0 || n > TCP_FRAME_MAX ? 0 : n + 2;
    }
    if (b[0] <= 3)
        return n % 4 == 0 && n + 20 <= TCP_FRAME_MAX ? n + 20 : 0;
    if (b[0] >= 0x40 && b[0] <= 0x4F)
        return n + 4 <= TCP_FRAME_MAX ? ((n + 3) & ~3u) + 4 : 0;
    return 0;
}

static void consume(tcp_deframer_t *d, const uint8_t *p, size_t len, tcp_frame_fn fn, void *ctx)
{
    uint32_t hdr = d->kind == TCP_FRAME_RFC4571 ? 2 : 4;
    while (len > 0) {
        if (d->have < hdr) {
            size_t take = hdr - d->have < len ? hdr - d->have : len;
            memcpy(d->buf + d->have, p, take);
            d->have += (uint32_t)take;
            p += take;
            len -= take;
            continue;
        }
        uint32_t total = frame_total(d, d->buf);
        if (total == 0) {
            d->synced = false; /* lost the boundaries */
            d->have = 0;
            d->resyncs++;
            return;
        }
        size_t want = total - d->have;
        size_t take = want < len ? want : len;
        memcpy(d->buf + d->have, p, take);
        d->have += (uint32_t)take;
        p += take;
        len -= take;
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

static bool hold(tcp_deframer_t *d, uint32_t seq, const uint8_t *p, size_t len)
{
    if (len > TCP_OOO_BYTES)
        return false;
    for (int i = 0; i < TCP_OOO_SLOTS; i++) {
        if (!d->ooo[i].used) {
            d->ooo[i].used = true;
            d->ooo[i].seq = seq;
            d->ooo[i].len = (uint32_t)len;
            memcpy(d->ooo[i].data, p, len);
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

static bool feed_one(tcp_deframer_t *d, uint32_t seq, const uint8_t *p, size_t len, tcp_frame_fn fn,
                     void *ctx);

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
            uint32_t n = d->ooo[i].len;
            memcpy(tmp, d->ooo[i].data, n);
            (void)feed_one(d, d->ooo[i].seq, tmp, n, fn, ctx);
            progress = true;
        }
    }
}

static bool feed_one(tcp_deframer_t *d, uint32_t seq, const uint8_t *p, size_t len, tcp_frame_fn fn,
                     void *ctx)
{
    if (d->synced && seq != d->next_seq) {
        int32_t behind = (int32_t)(d->next_seq - seq);
        if (behind > 0 && (size_t)behind >= len) { /* all seen before */
            d->retransmits++;
            return true;
        }
        if (behind > 0) { /* overlaps what we have: keep only the new bytes */
            d->retransmits++;
            p += behind;
            len -= (size_t)behind;
            seq = d->next_seq;
        } else if (hold(d, seq, p, len)) {
            return true; /* ahead of a missing segment: wait for it */
        } else {
            d->synced = false; /* a gap that did not fill: the partial frame is gone */
            d->resyncs++;
            drop_held(d);
        }
    }
    if (!d->synced) {
        if (!plausible_start(d, p, len))
            return true;
        d->synced = true;
        d->have = 0;
    }
    d->next_seq = seq + (uint32_t)len;
    consume(d, p, len, fn, ctx);
    return true;
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
    if (len == 0 || d->kind == TCP_FRAME_NONE)
        return;
    (void)feed_one(d, seq, p, len, fn, ctx);
    release_held(d, fn, ctx);
}
