/* tcp_frame.h - RFC 4571 framing over TCP: a 16-bit length before each
 * RTP/RTCP/STUN packet (Teams' TCP 443 fallback through its relays).
 *
 * One deframer per flow direction. It takes up framing only when the first
 * data segment of that direction starts with a plausible frame, so TLS on
 * port 443 is never cut into bogus frames. Frames are bounded; a sequence
 * gap or an impossible length drops the partial frame and waits for a
 * segment that starts a frame again (counted as a resync).
 */
#ifndef CALLSCOPE_TCP_FRAME_H
#define CALLSCOPE_TCP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_FRAME_MAX 2048

typedef void (*tcp_frame_fn)(void *ctx, const uint8_t *frame, size_t len);

typedef struct tcp_deframer {
    bool decided, framed, synced;
    uint32_t next_seq;
    uint32_t have;
    uint8_t buf[TCP_FRAME_MAX + 2];
    uint64_t frames, resyncs, retransmits;
} tcp_deframer_t;

/* Feeds one segment's payload. Returns false once the direction is known
 * not to be RFC 4571 framed (the caller can stop feeding). */
bool tcp_frame_feed(tcp_deframer_t *d, uint32_t seq, const uint8_t *p, size_t len,
                    tcp_frame_fn fn, void *ctx);

#endif
