/* fuzz_tcp_frame - the RFC 4571 / TURN-over-TCP deframer on one direction
 * of a TCP connection: held out-of-order segments, retransmissions,
 * overlaps, resyncs and sequence wrap.
 *
 * Input: u32be initial sequence number, then records (fuzz_input.h), one
 * per segment. A segment's sequence number is the previous one's plus its
 * length plus the record's signed tag: 0 in order, > 0 a gap (the segment
 * is held), < 0 a retransmission or overlap. As in the probe, a deframer
 * starts only when the first non-empty segment passes tcp_frame_detect().
 * Checks every frame handed out against the deframer's bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_input.h"
#include "tcp_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const tcp_deframer_t *d;
    uint64_t frames;
} frame_ctx_t;

static void on_frame(void *ctx, const uint8_t *frame, size_t len)
{
    frame_ctx_t *fc = ctx;
    const uint8_t *buf = fc->d->buf;
    fuzz_input_check(len > 0 && len <= TCP_FRAME_MAX, "frame length <= TCP_FRAME_MAX");
    fuzz_input_check_view(buf, sizeof fc->d->buf, frame, len, "frame inside the buffer");
    fc->frames++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tcp_deframer_t d; /* 28 KB, off the stack; tcp_frame_init() clears it */
    cur_t c;
    uint32_t seq;
    cur_init(&c, data, size);
    if (!cur_u32be(&c, &seq))
        return 0;
    bool started = false;
    frame_ctx_t fc = {&d, 0};
    fuzz_rec_t r;
    while (fuzz_input_next(&c, &r)) {
        seq += (uint32_t)(int32_t)r.tag;
        if (!started && r.len > 0) {
            tcp_frame_kind_t kind = tcp_frame_detect(r.data, r.len);
            if (kind == TCP_FRAME_NONE)
                return 0; /* the probe would never deframe this direction */
            tcp_frame_init(&d, kind, seq);
            started = true;
        }
        if (started)
            tcp_frame_feed(&d, seq, r.data, r.len, on_frame, &fc);
        seq += (uint32_t)r.len;
    }
    if (started)
        fuzz_input_check(fc.frames == d.frames, "frames handed out == frames counted");
    return 0;
}
