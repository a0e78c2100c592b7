#include "demux.h"

#include <string.h>

#include "cursor.h"
#include "rtp.h"

#define STUN_ATTR_DATA 0x0013
#define STUN_SEND_INDICATION 0x0016
#define STUN_DATA_INDICATION 0x0017
#define MSTURN_DATA_INDICATION 0x0115 /* MS-TURN (Lync/Teams) Data Indication */
#define MSTURN_SEND_REQUEST 0x0004

static const char *const kind_names[DEMUX_KIND_COUNT] = {
    "unknown", "stun", "zrtp", "dtls", "rtp", "rtcp",
};
static const char *const encap_names[ENCAP_COUNT] = {
    "raw", "turn_channeldata", "stun_data_indication", "stun_send_indication", "tcp_rfc4571",
};

const char *demux_kind_name(demux_kind_t k)
{
    return (unsigned)k < DEMUX_KIND_COUNT ? kind_names[k] : "unknown";
}

const char *demux_encap_name(demux_encap_t e)
{
    return (unsigned)e < ENCAP_COUNT ? encap_names[e] : "unknown";
}

static void demux_inner(const uint8_t *p, size_t len, int depth, demux_result_t *out);

/* Find the DATA attribute of a STUN message body. */
static bool stun_find_data(cur_t *attrs, const uint8_t **data, size_t *dlen, int *malformed)
{
    while (cur_left(attrs) >= 4) {
        uint16_t type, alen;
        const uint8_t *val;
        (void)cur_u16be(attrs, &type);
        (void)cur_u16be(attrs, &alen);
        if (!cur_take(attrs, alen, &val)) {
            *malformed = 1;
            return false;
        }
        (void)cur_skip(attrs, (4 - alen % 4) % 4); /* may run out at the end: fine */
        if (type == STUN_ATTR_DATA) {
            *data = val;
            *dlen = alen;
            return true;
        }
    }
    return false;
}

static void demux_stun(const uint8_t *p, size_t len, int depth, demux_result_t *out)
{
    cur_t c, attrs;
    uint16_t type, mlen;
    uint32_t cookie;
    cur_init(&c, p, len);
    if (!cur_u16be(&c, &type) || !cur_u16be(&c, &mlen) || !cur_u32be(&c, &cookie) ||
        !cur_skip(&c, 12)) {
        out->kind = DEMUX_UNKNOWN;
        return;
    }
    /* RFC 5389 needs the cookie; MS-TURN (RFC 3489 framing) may not have it.
     * Either way the length must fit the datagram. */
    if (!cur_sub(&c, mlen, &attrs)) {
        out->kind = DEMUX_UNKNOWN;
        return;
    }
    if (cookie != DEMUX_STUN_MAGIC && (mlen % 4) != 0) {
        out->kind = DEMUX_UNKNOWN;
        return;
    }
    out->kind = DEMUX_STUN;
    out->stun_type = type;
    const uint8_t *data;
    size_t dlen;
    /* Walk the attributes of every message: an overrunning length is a
     * counted malformation whatever the type. */
    bool found = stun_find_data(&attrs, &data, &dlen, &out->malformed);
    if (!found || (type != STUN_DATA_INDICATION && type != STUN_SEND_INDICATION &&
                   type != MSTURN_DATA_INDICATION && type != MSTURN_SEND_REQUEST))
        return;
    if (out->encap == ENCAP_RAW)
        out->encap = (type == STUN_SEND_INDICATION || type == MSTURN_SEND_REQUEST)
                         ? ENCAP_STUN_SEND
                         : ENCAP_STUN_DATA;
    demux_inner(data, dlen, depth + 1, out);
}

static void demux_channeldata(const uint8_t *p, size_t len, int depth, demux_result_t *out)
{
    cur_t c;
    uint16_t chan, dlen;
    const uint8_t *data;
    cur_init(&c, p, len);
    if (!cur_u16be(&c, &chan) || !cur_u16be(&c, &dlen)) {
        out->kind = DEMUX_UNKNOWN;
        out->malformed = 1;
        return;
    }
    size_t kept = dlen;
    /* cut short by the snap length, not by the sender: take what was kept
     * (a 256-byte snap length cut every video packet, and with it two TURN
     * ChannelData video streams of pcaps/bench_small.pcap, in live capture) */
    if (cur_left(&c) < dlen && dlen - cur_left(&c) <= out->cut)
        kept = cur_left(&c);
    if (!cur_take(&c, kept, &data)) {
        out->kind = DEMUX_UNKNOWN;
        out->malformed = 1;
        return;
    }
    /* RFC 8656 §12.5: channels are 0x4000-0x4FFF, and over UDP only the
     * padding to a multiple of four may follow the data. This keeps QUIC
     * short headers (also 0x40-0x7F) out. */
    if (chan > 0x4FFF || cur_left(&c) > 3) {
        out->kind = DEMUX_UNKNOWN;
        return;
    }
    if (out->encap == ENCAP_RAW)
        out->encap = ENCAP_TURN_CHANNELDATA;
    out->channel = chan;
    demux_inner(data, kept, depth + 1, out);
}

static void demux_inner(const uint8_t *p, size_t len, int depth, demux_result_t *out)
{
    cur_t c;
    uint8_t b;
    out->inner = p;
    out->inner_len = len;
    out->kind = DEMUX_UNKNOWN;
    cur_init(&c, p, len);
    if (depth > 3 || !cur_peek_u8(&c, 0, &b))
        return;
    switch (demux_first_byte(b)) {
    case DEMUX_FIRST_STUN:
        demux_stun(p, len, depth, out);
        break;
    case DEMUX_FIRST_ZRTP:
        out->kind = DEMUX_ZRTP;
        break;
    case DEMUX_FIRST_DTLS:
        out->kind = DEMUX_DTLS;
        break;
    case DEMUX_FIRST_CHANNELDATA:
        demux_channeldata(p, len, depth, out);
        break;
    case DEMUX_FIRST_RTP:
        out->kind = rtp_looks_like_rtcp(p, len) ? DEMUX_RTCP : DEMUX_RTP;
        break;
    case DEMUX_FIRST_OTHER:
        break;
    }
}

void demux_datagram(const uint8_t *p, size_t len, demux_result_t *out)
{
    demux_datagram_cut(p, len, 0, out);
}

void demux_datagram_cut(const uint8_t *p, size_t len, size_t cut, demux_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->cut = cut;
    demux_inner(p, len, 0, out);
}
