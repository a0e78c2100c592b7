/* tcp_frame.h - media framing over TCP, two kinds:
 *  - RFC 4571: a 16-bit length before each RTP/RTCP/STUN packet;
 *  - TURN over TCP (RFC 8656 §12.5): STUN messages (20-byte header with
 *    length) and ChannelData messages (4-byte header, padded to 4 bytes)
 *    back to back. Teams' TCP 443 fallback and WebRTC TURN/TCP use these.
 *
 * One deframer per flow direction. It takes up framing only when the first
 * data segment of that direction starts with a plausible frame of either
 * kind, so TLS on port 443 is never cut into bogus frames. A segment that
 * arrives ahead of a missing one is held (a few, bounded) until the gap
 * fills; if it does not, the partial frame is dropped and counted. Frames are bounded; a sequence
 * gap or an impossible length drops the partial frame and waits for a
 * segment that starts a frame again (counted as a resync).
 */
#ifndef CALLSCOPE_TCP_FRAME_H
#define CALLSCOPE_TCP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_FRAME_MAX 2048
#define TCP_OOO_SLOTS 16 /* segments held while an earlier one is missing */
#define TCP_OOO_BYTES 1600

typedef void (*tcp_frame_fn)(void *ctx, const uint8_t *frame, size_t len);

typedef enum { TCP_FRAME_NONE, TCP_FRAME_RFC4571, TCP_FRAME_TURN } tcp_frame_kind_t;

typedef struct tcp_deframer {
    bool synced;
    tcp_frame_kind_t kind;
    uint32_t next_seq;
    uint32_t have;
    uint8_t buf[TCP_FRAME_MAX + 2];
    struct {
        bool used;
        uint32_t seq, len;
        uint8_t data[TCP_OOO_BYTES];
    } ooo[TCP_OOO_SLOTS];
    uint64_t frames, resyncs, retransmits, reordered;
} tcp_deframer_t;

/* Which framing a direction's first data segment starts, if any: called
 * before a deframer is allocated, so TLS flows never get one. */
tcp_frame_kind_t tcp_frame_detect(const uint8_t *p, size_t len);
/* Starts a deframer on the direction's first data segment (its kind from
 * tcp_frame_detect, not NONE). */
void tcp_frame_init(tcp_deframer_t *d, tcp_frame_kind_t kind, uint32_t seq);
/* Feeds one segment's payload (after tcp_frame_init). */
void tcp_frame_feed(tcp_deframer_t *d, uint32_t seq, const uint8_t *p, size_t len, tcp_frame_fn fn,
                    void *ctx);

#endif
