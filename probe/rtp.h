/* rtp.h - RTP (RFC 3550) and RTCP header parsing, RFC 8285 header extensions.
 *
 * Only headers are read: Teams media is SRTP, so payloads and SRTCP report
 * contents are opaque. Parsers take a bounds-checked view and return false
 * on anything malformed; the caller counts it.
 */
#ifndef CALLSCOPE_RTP_H
#define CALLSCOPE_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_MAX_EXT_ELEMS 8

typedef struct {
    uint8_t id;
    uint8_t len;    /* bytes of data */
    uint32_t value; /* first up to 4 data bytes, big-endian */
} rtp_ext_elem_t;

typedef struct {
    uint8_t padding, extension, csrc_count, marker, payload_type;
    uint16_t seq;
    uint32_t ts, ssrc;
    uint16_t ext_profile; /* 0xBEDE one-byte, 0x100x two-byte, else opaque */
    uint8_t ext_count;
    rtp_ext_elem_t ext[RTP_MAX_EXT_ELEMS];
    uint32_t header_len;
    uint32_t payload_len; /* after header, before padding */
} rtp_hdr_t;

/* True when the bytes are a well-formed RTP header (version 2, CSRC list and
 * extension inside the packet, padding count sane). */
bool rtp_parse(const uint8_t *p, size_t len, rtp_hdr_t *h);

/* RFC 5761 §4: second byte 192..223 (marker bit + PT 64..95) is RTCP. */
bool rtp_looks_like_rtcp(const uint8_t *p, size_t len);

/* RTCP (plain or SRTCP) summary of one datagram. */
typedef struct {
    bool encrypted; /* SRTCP: the compound chain does not parse */
    uint32_t ssrc;  /* sender of the first packet */
    bool has_sr;
    uint32_t sr_ntp_mid; /* middle 32 bits of the SR NTP time (for LSR) */
    uint32_t sr_rtp_ts;
    uint8_t rb_count; /* report blocks read (max 4 kept) */
    struct {
        uint32_t ssrc;
        uint8_t fraction_lost;
        int32_t cumulative_lost;
        uint32_t ext_highest_seq;
        uint32_t jitter; /* in RTP clock units */
        uint32_t lsr, dlsr;
    } rb[4];
} rtcp_info_t;

bool rtcp_parse(const uint8_t *p, size_t len, rtcp_info_t *out);

#endif
