/* demux.h - media demultiplexing of one datagram, RFC 7983 §7.
 *
 * First byte   0..3 STUN, 16..19 ZRTP, 20..63 DTLS, 64..79 TURN ChannelData,
 * 128..191 RTP/RTCP (RFC 5761 splits those by the second byte). TURN
 * ChannelData (RFC 8656 §12.4) and STUN Send/Data indications carrying a
 * DATA attribute are opened and their contents demultiplexed again, so RTP
 * relayed through a TURN server is measured like raw RTP.
 */
#ifndef CALLSCOPE_DEMUX_H
#define CALLSCOPE_DEMUX_H

#include <stddef.h>
#include <stdint.h>

/* RFC 5389 §6: the fixed second word of every STUN message (the MS-TURN
 * dialect of RFC 3489 may leave it out). */
#define DEMUX_STUN_MAGIC 0x2112A442u

/* RFC 7983 §7: what a packet's first byte says it is. */
typedef enum {
    DEMUX_FIRST_OTHER = 0,
    DEMUX_FIRST_STUN,        /* 0..3 */
    DEMUX_FIRST_ZRTP,        /* 16..19 */
    DEMUX_FIRST_DTLS,        /* 20..63 */
    DEMUX_FIRST_CHANNELDATA, /* 64..79, TURN channels 0x4000..0x4FFF */
    DEMUX_FIRST_RTP,         /* 128..191, RTP or RTCP */
} demux_first_t;

/* Inline: called for every media packet, and by the TCP deframer on every
 * frame header. */
static inline demux_first_t demux_first_byte(uint8_t b)
{
    if (b <= 3)
        return DEMUX_FIRST_STUN;
    if (b >= 16 && b <= 19)
        return DEMUX_FIRST_ZRTP;
    if (b >= 20 && b <= 63)
        return DEMUX_FIRST_DTLS;
    if (b >= 64 && b <= 79)
        return DEMUX_FIRST_CHANNELDATA;
    if (b >= 128 && b <= 191)
        return DEMUX_FIRST_RTP;
    return DEMUX_FIRST_OTHER;
}

typedef enum {
    DEMUX_UNKNOWN = 0,
    DEMUX_STUN,
    DEMUX_ZRTP,
    DEMUX_DTLS,
    DEMUX_RTP,
    DEMUX_RTCP,
    DEMUX_KIND_COUNT
} demux_kind_t;

typedef enum {
    ENCAP_RAW = 0,
    ENCAP_TURN_CHANNELDATA,
    ENCAP_STUN_DATA, /* Data indication (relay -> client) */
    ENCAP_STUN_SEND, /* Send indication (client -> relay) */
    ENCAP_TCP_RFC4571,
    ENCAP_COUNT
} demux_encap_t;

typedef struct {
    demux_kind_t kind;
    demux_encap_t encap;  /* outermost wrapper found */
    uint16_t stun_type;   /* when a STUN message was seen (outer or inner) */
    uint16_t channel;     /* TURN channel number, 0 if none */
    const uint8_t *inner; /* borrowed: the media bytes after unwrapping */
    size_t inner_len;
    int malformed; /* a wrapper's length lied; counted by the caller */
    size_t cut;    /* bytes of the datagram beyond the capture's snap length */
} demux_result_t;

void demux_datagram(const uint8_t *p, size_t len, demux_result_t *out);
/* The same for a datagram whose last `cut` bytes the capture did not keep
 * (snap length): a TURN ChannelData length reaching into those bytes is
 * what the wire had, not a lie, and the media inside is what was kept. */
void demux_datagram_cut(const uint8_t *p, size_t len, size_t cut, demux_result_t *out);
const char *demux_kind_name(demux_kind_t k);
const char *demux_encap_name(demux_encap_t e);

#endif
