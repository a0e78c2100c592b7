#include "rtp.h"

#include <string.h>

#include "cursor.h"

static void read_elem_value(cur_t *c, uint8_t len, rtp_ext_elem_t *e)
{
    uint32_t v = 0;
    for (uint8_t i = 0; i < len && i < 4; i++) {
        uint8_t b = 0;
        (void)cur_peek_u8(c, i, &b);
        v = (v << 8) | b;
    }
    e->value = v;
}

/* RFC 8285 one-byte (0xBEDE) and two-byte (0x100X) element lists. */
static void parse_ext_elems(cur_t *c, rtp_hdr_t *h)
{
    bool two_byte = (h->ext_profile & 0xFFF0) == 0x1000;
    while (cur_left(c) > 0 && h->ext_count < RTP_MAX_EXT_ELEMS) {
        uint8_t b;
        if (!cur_u8(c, &b))
            return;
        if (b == 0) /* padding */
            continue;
        uint8_t id, len;
        if (two_byte) {
            id = b;
            if (!cur_u8(c, &len))
                return;
        } else {
            id = b >> 4;
            len = (uint8_t)((b & 0x0F) + 1);
            if (id == 15) /* reserved: stop */
                return;
        }
        if (cur_left(c) < len)
            return;
        rtp_ext_elem_t *e = &h->ext[h->ext_count++];
        e->id = id;
        e->len = len;
        read_elem_value(c, len, e);
        (void)cur_skip(c, len);
    }
}

bool rtp_parse(const uint8_t *p, size_t len, rtp_hdr_t *h)
{
    cur_t c;
    uint8_t b0, b1;
    memset(h, 0, sizeof *h);
    cur_init(&c, p, len);
    if (!cur_u8(&c, &b0) || !cur_u8(&c, &b1) || !cur_u16be(&c, &h->seq) || !cur_u32be(&c, &h->ts) ||
        !cur_u32be(&c, &h->ssrc))
        return false;
    if ((b0 >> 6) != 2)
        return false;
    h->padding = (b0 >> 5) & 1;
    h->extension = (b0 >> 4) & 1;
    h->csrc_count = b0 & 0x0F;
    h->marker = b1 >> 7;
    h->payload_type = b1 & 0x7F;
    if (h->payload_type >= 72 && h->payload_type <= 76)
        return false; /* RTCP SR..APP with the marker clear: not RTP */
    if (!cur_skip(&c, (size_t)h->csrc_count * 4))
        return false;
    if (h->extension) {
        uint16_t words;
        cur_t ext;
        if (!cur_u16be(&c, &h->ext_profile) || !cur_u16be(&c, &words) ||
            !cur_sub(&c, (size_t)words * 4, &ext))
            return false;
        if (h->ext_profile == 0xBEDE || (h->ext_profile & 0xFFF0) == 0x1000)
            parse_ext_elems(&ext, h);
    }
    h->header_len = (uint32_t)cur_offset(&c);
    size_t rest = cur_left(&c);
    if (h->padding && rest > 0) {
        uint8_t pad = 0;
        (void)cur_peek_u8(&c, rest - 1, &pad); /* the last byte: rest > 0 */
        if (pad == 0 || pad > rest)
            return false;
        rest -= pad;
    }
    h->payload_len = (uint32_t)rest;
    return true;
}

bool rtp_looks_like_rtcp(const uint8_t *p, size_t len)
{
    cur_t c;
    uint8_t b0, b1;
    cur_init(&c, p, len);
    return cur_u8(&c, &b0) && cur_u8(&c, &b1) && (b0 >> 6) == 2 && b1 >= 192 && b1 <= 223;
}

static void read_report_blocks(cur_t *c, uint8_t count, rtcp_info_t *out)
{
    for (uint8_t i = 0; i < count && out->rb_count < 4; i++) {
        uint32_t ssrc, lost_word, ehs, jit, lsr, dlsr;
        if (!cur_u32be(c, &ssrc) || !cur_u32be(c, &lost_word) || !cur_u32be(c, &ehs) ||
            !cur_u32be(c, &jit) || !cur_u32be(c, &lsr) || !cur_u32be(c, &dlsr))
            return;
        int32_t cum = (int32_t)(lost_word & 0x00FFFFFF);
        if (cum & 0x00800000)
            cum -= 0x01000000; /* 24-bit signed */
        out->rb[out->rb_count].ssrc = ssrc;
        out->rb[out->rb_count].fraction_lost = (uint8_t)(lost_word >> 24);
        out->rb[out->rb_count].cumulative_lost = cum;
        out->rb[out->rb_count].ext_highest_seq = ehs;
        out->rb[out->rb_count].jitter = jit;
        out->rb[out->rb_count].lsr = lsr;
        out->rb[out->rb_count].dlsr = dlsr;
        out->rb_count++;
    }
}

/* One RTCP packet of a compound; body is the packet after its 4-byte header. */
static void read_rtcp_packet(uint8_t pt, uint8_t count, cur_t *body, bool first, rtcp_info_t *out)
{
    uint32_t ssrc;
    if (!cur_u32be(body, &ssrc))
        return;
    if (first)
        out->ssrc = ssrc;
    if (pt == 200) {
        uint32_t ntp_hi, ntp_lo, rtp_ts, pc, oc;
        if (!cur_u32be(body, &ntp_hi) || !cur_u32be(body, &ntp_lo) || !cur_u32be(body, &rtp_ts) ||
            !cur_u32be(body, &pc) || !cur_u32be(body, &oc))
            return;
        out->has_sr = true;
        out->sr_ntp_mid = (ntp_hi << 16) | (ntp_lo >> 16);
        out->sr_rtp_ts = rtp_ts;
        read_report_blocks(body, count, out);
    } else if (pt == 201) {
        read_report_blocks(body, count, out);
    }
}

bool rtcp_parse(const uint8_t *p, size_t len, rtcp_info_t *out)
{
    cur_t c;
    memset(out, 0, sizeof *out);
    if (!rtp_looks_like_rtcp(p, len) || len < 8)
        return false;
    cur_init(&c, p, len);
    bool first = true;
    while (cur_left(&c) > 0) {
        uint8_t b0, pt;
        uint16_t words;
        cur_t body;
        if (!cur_u8(&c, &b0) || !cur_u8(&c, &pt) || !cur_u16be(&c, &words) || (b0 >> 6) != 2 ||
            pt < 192 || pt > 223 || !cur_sub(&c, (size_t)words * 4, &body)) {
            /* The chain does not add up: encrypted SRTCP (or garbage whose
             * first header looked like RTCP). Keep the clear SSRC. */
            uint32_t keep = out->ssrc;
            memset(out, 0, sizeof *out);
            out->encrypted = true;
            out->ssrc = keep;
            if (first) {
                cur_t h;
                cur_init(&h, p + 4, len - 4);
                (void)cur_u32be(&h, &out->ssrc);
            }
            return true;
        }
        read_rtcp_packet(pt, b0 & 0x1F, &body, first, out);
        first = false;
    }
    return true;
}
