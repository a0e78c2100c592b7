#include "tcp_frame.h"

#include <string.h>

/* A frame start: length 1..TCP_FRAME_MAX, then a STUN, ChannelData or
 * RTP/RTCP first byte (RFC 7983 ranges). */
static bool plausible_start(const uint8_t *p, size_t len)
{
    if (len < 3)
        return false;
    uint16_t flen = (uint16_t)((p[0] << 8) | p[1]);
    uint8_t b = p[2];
    bool media = b <= 3 || (b >= 64 && b <= 79) || (b >= 128 && b <= 191);
    return flen >= 4 && flen <= TCP_FRAME_MAX && media;
}

static void consume(tcp_deframer_t *d, const uint8_t *p, size_t len, tcp_frame_fn fn, void *ctx)
{
    while (len > 0) {
        if (d->have < 2) {
            size_t take = 2 - d->have < len ? 2 - d->have : len;
            memcpy(d->buf + d->have, p, take);
            d->have += (uint32_t)take;
            p += take;
            len -= take;
            continue;
        }
        uint32_t flen = ((uint32_t)d->buf[0] << 8) | d->buf[1];
        if (flen == 0 || flen > TCP_FRAME_MAX) {
            d->synced = false; /* lost the boundaries */
            d->have = 0;
            d->resyncs++;
            return;
        }
        size_t want = flen + 2 - d->have;
        size_t take = want < len ? want : len;
        memcpy(d->buf + d->have, p, take);
        d->have += (uint32_t)take;
        p += take;
        len -= take;
        if (d->have == flen + 2) {
            d->frames++;
            fn(ctx, d->buf + 2, flen);
            d->have = 0;
        }
    }
}

bool tcp_frame_feed(tcp_deframer_t *d, uint32_t seq, const uint8_t *p, size_t len,
                    tcp_frame_fn fn, void *ctx)
{
    if (len == 0)
        return !d->decided || d->framed;
    if (!d->decided) {
        d->decided = true;
        d->framed = plausible_start(p, len);
        d->synced = d->framed;
        d->next_seq = seq;
    }
    if (!d->framed)
        return false;
    if (d->synced && seq != d->next_seq) {
        if ((int32_t)(seq - d->next_seq) < 0) {
            d->retransmits++;
            return true;
        }
        d->synced = false; /* a gap: the partial frame is gone */
        d->resyncs++;
    }
    if (!d->synced) {
        if (!plausible_start(p, len))
            return true;
        d->synced = true;
        d->have = 0;
    }
    d->next_seq = seq + (uint32_t)len;
    consume(d, p, len, fn, ctx);
    return true;
}
