/* test_demux_rtp.c - probe/demux.h (RFC 7983 demultiplexing, TURN and STUN
 * unwrapping) and probe/rtp.h (RTP headers, RFC 8285 extensions, RTCP). */
/* clang-format off: the packets below are byte arrays annotated field by
 * field, one field a line, in columns a formatter would break. */
#include "check.h"
#include "demux.h"
#include "rtp.h"

/* A 16-byte RTP packet: 12-byte header + 4 payload bytes. */
#define RTP_16                                                                                     \
    0x80,                       /* V=2, P=0, X=0, CC=0 */                                          \
        0x00,                   /* M=0, PT=0 (PCMU) */                                             \
        0x12, 0x34,             /* sequence 0x1234 */                                              \
        0x00, 0x00, 0x03, 0x20, /* timestamp 800 */                                                \
        0xde, 0xad, 0xbe, 0xef, /* SSRC */                                                         \
        0xd5, 0xd5, 0xd5, 0xd5  /* payload */

#define STUN_TXID 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c

/* ---- demux -------------------------------------------------------------- */

static demux_kind_t kind_of_first_byte(uint8_t b0)
{
    uint8_t d[24] = {0};
    d[0] = b0;
    demux_result_t r;
    demux_datagram(d, sizeof d, &r);
    return r.kind;
}

static void test_rfc7983_ranges(void)
{
    /* 0..3 are STUN only when the header is valid: all-zero body is */
    CHECK_EQ_INT(kind_of_first_byte(0), DEMUX_STUN);
    for (int b = 4; b <= 15; b++)
        CHECK_EQ_INT(kind_of_first_byte((uint8_t)b), DEMUX_UNKNOWN);
    CHECK_EQ_INT(kind_of_first_byte(16), DEMUX_ZRTP);
    CHECK_EQ_INT(kind_of_first_byte(19), DEMUX_ZRTP);
    CHECK_EQ_INT(kind_of_first_byte(20), DEMUX_DTLS);
    CHECK_EQ_INT(kind_of_first_byte(22), DEMUX_DTLS); /* handshake */
    CHECK_EQ_INT(kind_of_first_byte(63), DEMUX_DTLS);
    for (int b = 80; b <= 127; b++)
        CHECK_EQ_INT(kind_of_first_byte((uint8_t)b), DEMUX_UNKNOWN);
    CHECK_EQ_INT(kind_of_first_byte(128), DEMUX_RTP);
    CHECK_EQ_INT(kind_of_first_byte(191), DEMUX_RTP);
    for (int b = 192; b <= 255; b++)
        CHECK_EQ_INT(kind_of_first_byte((uint8_t)b), DEMUX_UNKNOWN);

    /* RFC 5761: second byte 192..223 is RTCP */
    uint8_t d[12] = {0x80, 200};
    demux_result_t r;
    demux_datagram(d, sizeof d, &r);
    CHECK_EQ_INT(r.kind, DEMUX_RTCP);
    d[1] = 223;
    demux_datagram(d, sizeof d, &r);
    CHECK_EQ_INT(r.kind, DEMUX_RTCP);
    d[1] = 224; /* M=1 PT=96 */
    demux_datagram(d, sizeof d, &r);
    CHECK_EQ_INT(r.kind, DEMUX_RTP);

    demux_datagram(d, 0, &r);
    CHECK_EQ_INT(r.kind, DEMUX_UNKNOWN);
    demux_datagram(NULL, 0, &r);
    CHECK_EQ_INT(r.kind, DEMUX_UNKNOWN);
    CHECK_STR(demux_kind_name(DEMUX_RTP), "rtp");
    CHECK_STR(demux_kind_name(DEMUX_KIND_COUNT), "unknown");
    CHECK_STR(demux_encap_name(ENCAP_TURN_CHANNELDATA), "turn_channeldata");
}

static void test_stun_binding(void)
{
    static const uint8_t req[] = {
        0x00,      0x01,             /* Binding Request */
        0x00,      0x08,             /* message length 8 */
        0x21,      0x12, 0xa4, 0x42, /* magic cookie */
        STUN_TXID,                   /* transaction ID */
        0x00,      0x24, 0x00, 0x04, /* PRIORITY, length 4 */
        0x6e,      0x00, 0x1e, 0xff, /* priority value */
    };
    demux_result_t r;
    demux_datagram(req, sizeof req, &r);
    CHECK_EQ_INT(r.kind, DEMUX_STUN);
    CHECK_EQ_UINT(r.stun_type, 0x0001);
    CHECK_EQ_INT(r.encap, ENCAP_RAW);
    CHECK_EQ_INT(r.malformed, 0);

    /* message length beyond the datagram: not STUN */
    uint8_t bad[sizeof req];
    memcpy(bad, req, sizeof bad);
    bad[3] = 0x0c; /* length 12, only 8 present */
    demux_datagram(bad, sizeof bad, &r);
    CHECK_EQ_INT(r.kind, DEMUX_UNKNOWN);
    /* header cut */
    demux_datagram(req, 19, &r);
    CHECK_EQ_INT(r.kind, DEMUX_UNKNOWN);
}

static void test_turn_channeldata(void)
{
    static const uint8_t cd[] = {
        0x40,   0x01, /* channel number 0x4001 */
        0x00,   0x10, /* length 16 */
        RTP_16,       /* application data: RTP */
    };
    demux_result_t r;
    demux_datagram(cd, sizeof cd, &r);
    CHECK_EQ_INT(r.kind, DEMUX_RTP);
    CHECK_EQ_INT(r.encap, ENCAP_TURN_CHANNELDATA);
    CHECK_EQ_UINT(r.channel, 0x4001);
    CHECK(r.inner == cd + 4);
    CHECK_EQ_UINT(r.inner_len, 16);
    CHECK_EQ_INT(r.malformed, 0);

    static const uint8_t padded[] = {
        0x40, 0x01, /* channel 0x4001 */
        0x00, 0x0d, /* length 13: RTP header + 1 payload byte */
        0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44, /* RTP hdr */
        0xd5,                                                                   /* 1 payload byte */
        0x00, 0x00, 0x00, /* padding to a multiple of 4 (RFC 8656 12.5) */
    };
    demux_datagram(padded, sizeof padded, &r);
    CHECK_EQ_INT(r.kind, DEMUX_RTP);
    CHECK_EQ_UINT(r.inner_len, 13);
    CHECK_EQ_INT(r.malformed, 0);

    static const uint8_t too_long[] = {
        0x40,   0x01, /* channel 0x4001 */
        0x00,   0x40, /* length 64: beyond the datagram */
        RTP_16,
    };
    demux_datagram(too_long, sizeof too_long, &r);
    CHECK_EQ_INT(r.kind, DEMUX_UNKNOWN);
    CHECK_EQ_INT(r.malformed, 1);
    /* the same bytes, 48 more on the wire beyond the snap length: the
     * length was true, the media is what the capture kept */
    demux_datagram_cut(too_long, sizeof too_long, 48, &r);
    CHECK_EQ_INT(r.kind, DEMUX_RTP);
    CHECK_EQ_INT(r.encap, ENCAP_TURN_CHANNELDATA);
    CHECK_EQ_UINT(r.inner_len, 16);
    CHECK_EQ_INT(r.malformed, 0);
    /* one byte fewer cut than the length claims beyond the capture: a lie */
    demux_datagram_cut(too_long, sizeof too_long, 47, &r);
    CHECK_EQ_INT(r.kind, DEMUX_UNKNOWN);
    CHECK_EQ_INT(r.malformed, 1);

    static const uint8_t extra[] = {
        0x40, 0x01,                                                             /* channel 0x4001 */
        0x00, 0x0c,                                                             /* length 12 */
        0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44, /* RTP hdr */
        0x00, 0x00, 0x00, 0x00, /* 4 trailing bytes: more than padding (QUIC?) */
    };
    demux_datagram(extra, sizeof extra, &r);
    CHECK_EQ_INT(r.kind, DEMUX_UNKNOWN);
    CHECK_EQ_INT(r.encap, ENCAP_RAW);

    static const uint8_t chan5000[] = {
        0x50,   0x00, /* "channel" 0x5000 > 0x4FFF: first byte 80 */
        0x00,   0x10, /* length 16 */
        RTP_16,
    };
    demux_datagram(chan5000, sizeof chan5000, &r);
    CHECK_EQ_INT(r.kind, DEMUX_UNKNOWN);
    CHECK_EQ_UINT(r.channel, 0);
    CHECK_EQ_INT(r.malformed, 0);

    static const uint8_t chan4fff[] = {
        0x4f,   0xff, /* channel 0x4FFF: the highest valid */
        0x00,   0x10, /* length 16 */
        RTP_16,
    };
    demux_datagram(chan4fff, sizeof chan4fff, &r);
    CHECK_EQ_INT(r.kind, DEMUX_RTP);
    CHECK_EQ_UINT(r.channel, 0x4fff);
}

static void test_stun_data_indication(void)
{
    static const uint8_t di[] = {
        0x00,      0x17,                                     /* Data Indication */
        0x00,      0x20,                                     /* message length 32 */
        0x21,      0x12, 0xa4, 0x42,                         /* magic cookie */
        STUN_TXID, 0x00, 0x12, 0x00, 0x08,                   /* XOR-PEER-ADDRESS, length 8 */
        0x00,      0x01, 0xe1, 0x4a, 0x15, 0x12, 0xa4, 0x43, /* IPv4, port, address */
        0x00,      0x13, 0x00, 0x10,                         /* DATA, length 16 */
        RTP_16,                                              /* the relayed RTP packet */
    };
    demux_result_t r;
    demux_datagram(di, sizeof di, &r);
    CHECK_EQ_INT(r.kind, DEMUX_RTP);
    CHECK_EQ_INT(r.encap, ENCAP_STUN_DATA);
    CHECK_EQ_UINT(r.stun_type, 0x0017);
    CHECK(r.inner == di + 36);
    CHECK_EQ_UINT(r.inner_len, 16);
    CHECK_EQ_INT(r.malformed, 0);

    /* DATA attribute longer than the message: malformed */
    uint8_t bad[sizeof di];
    memcpy(bad, di, sizeof bad);
    bad[35] = 0x20; /* DATA length 32 > 16 left */
    demux_datagram(bad, sizeof bad, &r);
    CHECK_EQ_INT(r.kind, DEMUX_STUN);
    CHECK_EQ_INT(r.malformed, 1);
}

/* ---- RTP ---------------------------------------------------------------- */

static void test_rtp_basic_and_csrc(void)
{
    static const uint8_t p[] = {
        0x82,                   /* V=2, P=0, X=0, CC=2 */
        0xe0,                   /* M=1, PT=96 */
        0xff, 0xfe,             /* sequence 65534 */
        0x12, 0x34, 0x56, 0x78, /* timestamp */
        0x01, 0x02, 0x03, 0x04, /* SSRC */
        0xaa, 0xaa, 0xaa, 0xaa, /* CSRC 1 */
        0xbb, 0xbb, 0xbb, 0xbb, /* CSRC 2 */
        0x01, 0x02, 0x03,       /* payload, 3 bytes */
    };
    rtp_hdr_t h;
    CHECK(rtp_parse(p, sizeof p, &h));
    CHECK_EQ_UINT(h.csrc_count, 2);
    CHECK_EQ_UINT(h.marker, 1);
    CHECK_EQ_UINT(h.payload_type, 96);
    CHECK_EQ_UINT(h.seq, 65534);
    CHECK_EQ_UINT(h.ts, 0x12345678);
    CHECK_EQ_UINT(h.ssrc, 0x01020304);
    CHECK_EQ_UINT(h.header_len, 20);
    CHECK_EQ_UINT(h.payload_len, 3);
    CHECK(!rtp_parse(p, 19, &h)); /* CSRC list cut */
    CHECK(!rtp_parse(p, 11, &h)); /* fixed header cut */
    uint8_t v1[sizeof p];
    memcpy(v1, p, sizeof v1);
    v1[0] = 0x42; /* version 1 */
    CHECK(!rtp_parse(v1, sizeof v1, &h));
}

static void test_rtp_one_byte_ext(void)
{
    static const uint8_t p[] = {
        0x90,                   /* V=2, X=1, CC=0 */
        0x6f,                   /* M=0, PT=111 */
        0x00, 0x01,             /* sequence 1 */
        0x00, 0x00, 0x00, 0x00, /* timestamp */
        0x01, 0x02, 0x03, 0x04, /* SSRC */
        0xbe, 0xde,             /* profile: RFC 8285 one-byte */
        0x00, 0x02,             /* length: 2 words */
        0x32,                   /* id 3, len-1 = 2: 3 data bytes */
        0x12, 0x34, 0x56,       /* abs-send-time 0x123456 */
        0x10,                   /* id 1, 1 data byte */
        0x7f,                   /* audio level */
        0x00, 0x00,             /* padding */
        0xaa, 0xbb,             /* payload, 2 bytes */
    };
    rtp_hdr_t h;
    CHECK(rtp_parse(p, sizeof p, &h));
    CHECK_EQ_UINT(h.extension, 1);
    CHECK_EQ_UINT(h.ext_profile, 0xbede);
    CHECK_EQ_UINT(h.ext_count, 2);
    CHECK_EQ_UINT(h.ext[0].id, 3);
    CHECK_EQ_UINT(h.ext[0].len, 3);
    CHECK_EQ_UINT(h.ext[0].value, 0x123456);
    CHECK_EQ_UINT(h.ext[1].id, 1);
    CHECK_EQ_UINT(h.ext[1].len, 1);
    CHECK_EQ_UINT(h.ext[1].value, 0x7f);
    CHECK_EQ_UINT(h.header_len, 24);
    CHECK_EQ_UINT(h.payload_len, 2);
    CHECK(!rtp_parse(p, 23, &h)); /* extension block cut */
}

static void test_rtp_two_byte_ext(void)
{
    static const uint8_t p[] = {
        0x90,                   /* V=2, X=1 */
        0x60,                   /* PT=96 */
        0x00, 0x02,             /* sequence 2 */
        0x00, 0x00, 0x0b, 0xb8, /* timestamp 3000 */
        0x01, 0x02, 0x03, 0x04, /* SSRC */
        0x10, 0x00,             /* profile: RFC 8285 two-byte (0x100, appbits 0) */
        0x00, 0x02,             /* length: 2 words */
        0x05, 0x02,             /* id 5, length 2 */
        0xab, 0xcd,             /* data */
        0x07, 0x00,             /* id 7, length 0 */
        0x00, 0x00,             /* padding */
        0x01,                   /* payload, 1 byte */
    };
    rtp_hdr_t h;
    CHECK(rtp_parse(p, sizeof p, &h));
    CHECK_EQ_UINT(h.ext_profile, 0x1000);
    CHECK_EQ_UINT(h.ext_count, 2);
    CHECK_EQ_UINT(h.ext[0].id, 5);
    CHECK_EQ_UINT(h.ext[0].len, 2);
    CHECK_EQ_UINT(h.ext[0].value, 0xabcd);
    CHECK_EQ_UINT(h.ext[1].id, 7);
    CHECK_EQ_UINT(h.ext[1].len, 0);
    CHECK_EQ_UINT(h.payload_len, 1);

    /* an element whose length runs past the block is not kept */
    uint8_t q[sizeof p];
    memcpy(q, p, sizeof q);
    q[17] = 0x09; /* id 5, length 9 > 6 left in the block */
    CHECK(rtp_parse(q, sizeof q, &h));
    CHECK_EQ_UINT(h.ext_count, 0);
}

static void test_rtp_padding(void)
{
    static const uint8_t p[] = {
        0xa0,                   /* V=2, P=1 */
        0x08,                   /* PT=8 (PCMA) */
        0x00, 0x03,             /* sequence 3 */
        0x00, 0x00, 0x00, 0xa0, /* timestamp 160 */
        0x01, 0x02, 0x03, 0x04, /* SSRC */
        0x11, 0x22, 0x33, 0x44, /* payload, 4 bytes */
        0x00, 0x00, 0x00, 0x04, /* padding, last byte = count 4 */
    };
    rtp_hdr_t h;
    CHECK(rtp_parse(p, sizeof p, &h));
    CHECK_EQ_UINT(h.padding, 1);
    CHECK_EQ_UINT(h.payload_len, 4);
    uint8_t q[sizeof p];
    memcpy(q, p, sizeof q);
    q[19] = 0; /* padding count 0 */
    CHECK(!rtp_parse(q, sizeof q, &h));
    q[19] = 9; /* padding count 9 > 8 bytes after the header */
    CHECK(!rtp_parse(q, sizeof q, &h));
    q[19] = 8; /* everything after the header is padding */
    CHECK(rtp_parse(q, sizeof q, &h));
    CHECK_EQ_UINT(h.payload_len, 0);
}

static void test_rtp_rtcp_pts(void)
{
    uint8_t p[] = {
        0x80, /* V=2 */
        72,   /* M=0, PT=72 (RTCP SR 200 with the marker bit taken off) */
        0x00, 0x01, 0, 0, 0, 0, 1, 2, 3, 4, /* seq, ts, SSRC */
        0x00,                               /* payload */
    };
    rtp_hdr_t h;
    for (int pt = 72; pt <= 76; pt++) {
        p[1] = (uint8_t)pt;
        CHECK(!rtp_parse(p, sizeof p, &h));
    }
    p[1] = 71;
    CHECK(rtp_parse(p, sizeof p, &h));
    p[1] = 77;
    CHECK(rtp_parse(p, sizeof p, &h));
    p[1] = 200; /* marker + PT 72: RTCP by RFC 5761 */
    CHECK(rtp_looks_like_rtcp(p, sizeof p));
    p[1] = 0x80 | 96;
    CHECK(!rtp_looks_like_rtcp(p, sizeof p));
    CHECK(!rtp_looks_like_rtcp(p, 1));
}

/* ---- RTCP --------------------------------------------------------------- */

static const uint8_t sr_rr[] = {
    /* SR */
    0x81,                   /* V=2, P=0, RC=1 */
    200,                    /* PT=SR */
    0x00, 0x0c,             /* length 12 words (52 bytes) */
    0x11, 0x11, 0x11, 0x11, /* sender SSRC */
    0xe1, 0x23, 0x45, 0x67, /* NTP seconds */
    0x89, 0xab, 0xcd, 0xef, /* NTP fraction */
    0x00, 0x01, 0x00, 0x00, /* RTP timestamp 65536 */
    0x00, 0x00, 0x00, 0x64, /* sender packet count 100 */
    0x00, 0x00, 0x3e, 0x80, /* sender octet count 16000 */
    /* SR report block */
    0x22, 0x22, 0x22, 0x22, /* source SSRC */
    0x40,                   /* fraction lost 64/256 */
    0xff, 0xff, 0xfe,       /* cumulative lost -2 (24-bit two's complement) */
    0x00, 0x01, 0x12, 0x34, /* extended highest sequence 0x11234 */
    0x00, 0x00, 0x00, 0xa0, /* jitter 160 */
    0x12, 0x34, 0x56, 0x78, /* LSR */
    0x00, 0x01, 0x80, 0x00, /* DLSR 1.5 s (98304/65536) */
    /* RR */
    0x81,                   /* V=2, P=0, RC=1 */
    201,                    /* PT=RR */
    0x00, 0x07,             /* length 7 words (32 bytes) */
    0x11, 0x11, 0x11, 0x11, /* reporter SSRC */
    0x33, 0x33, 0x33, 0x33, /* source SSRC */
    0x00,                   /* fraction lost 0 */
    0x00, 0x00, 0x05,       /* cumulative lost 5 */
    0x00, 0x00, 0x20, 0x00, /* extended highest sequence 8192 */
    0x00, 0x00, 0x00, 0x10, /* jitter 16 */
    0x00, 0x00, 0x00, 0x00, /* LSR none */
    0x00, 0x00, 0x00, 0x00, /* DLSR none */
};

static void test_rtcp_sr_rr(void)
{
    rtcp_info_t ri;
    CHECK_EQ_UINT(sizeof sr_rr, 84);
    CHECK(rtcp_parse(sr_rr, sizeof sr_rr, &ri));
    CHECK(!ri.encrypted);
    CHECK_EQ_UINT(ri.ssrc, 0x11111111);
    CHECK(ri.has_sr);
    CHECK_EQ_UINT(ri.sr_ntp_mid, 0x456789ab);
    CHECK_EQ_UINT(ri.sr_rtp_ts, 65536);
    CHECK_EQ_UINT(ri.rb_count, 2);
    CHECK_EQ_UINT(ri.rb[0].ssrc, 0x22222222);
    CHECK_EQ_UINT(ri.rb[0].fraction_lost, 64);
    CHECK_EQ_INT(ri.rb[0].cumulative_lost, -2);
    CHECK_EQ_UINT(ri.rb[0].ext_highest_seq, 0x11234);
    CHECK_EQ_UINT(ri.rb[0].jitter, 160);
    CHECK_EQ_UINT(ri.rb[0].lsr, 0x12345678);
    CHECK_EQ_UINT(ri.rb[0].dlsr, 0x18000);
    CHECK_EQ_UINT(ri.rb[1].ssrc, 0x33333333);
    CHECK_EQ_UINT(ri.rb[1].fraction_lost, 0);
    CHECK_EQ_INT(ri.rb[1].cumulative_lost, 5);
    CHECK_EQ_UINT(ri.rb[1].jitter, 16);

    /* cumulative lost extremes */
    uint8_t q[sizeof sr_rr];
    memcpy(q, sr_rr, sizeof q);
    q[33] = 0x80, q[34] = 0x00, q[35] = 0x00; /* -8388608 */
    CHECK(rtcp_parse(q, sizeof q, &ri));
    CHECK_EQ_INT(ri.rb[0].cumulative_lost, -8388608);
    q[33] = 0x7f, q[34] = 0xff, q[35] = 0xff; /* +8388607 */
    CHECK(rtcp_parse(q, sizeof q, &ri));
    CHECK_EQ_INT(ri.rb[0].cumulative_lost, 8388607);

    /* demux agrees it is RTCP */
    demux_result_t r;
    demux_datagram(sr_rr, sizeof sr_rr, &r);
    CHECK_EQ_INT(r.kind, DEMUX_RTCP);
}

static void test_srtcp(void)
{
    /* SRTCP: the first 8 bytes are clear, the rest of the SR is ciphertext,
     * then E|index and a 10-byte auth tag that do not form an RTCP header. */
    static const uint8_t s[] = {
        0x81,                   /* V=2, RC=1 (clear) */
        200,                    /* SR (clear) */
        0x00, 0x0c,             /* length 12 words (clear) */
        0x44, 0x44, 0x44, 0x44, /* sender SSRC (clear) */
        0x9c, 0x3f, 0x01, 0xd2, 0x77, 0x10, 0xe5, 0x2a, 0x4b, 0x8e, 0x61, 0xf0, /* cipher */
        0x05, 0xaa, 0x93, 0x3c, 0xde, 0x71, 0x28, 0x46, 0xbb, 0x0f, 0xc2, 0x59, /* cipher */
        0x3a, 0x91, 0x7e, 0x64, 0x12, 0xe8, 0x4d, 0xa7, 0x6c, 0x35, 0xf9, 0x80, /* cipher */
        0x21, 0x5b, 0xc6, 0x0d, 0x98, 0xe3, 0x47, 0x1a,                         /* cipher */
        0x80, 0x00, 0x00, 0x2a,                                     /* E=1, SRTCP index 42 */
        0x5e, 0x17, 0xa0, 0x4c, 0x93, 0x28, 0xfb, 0x61, 0x0e, 0xd4, /* auth tag (80 bits) */
    };
    rtcp_info_t ri;
    CHECK(rtcp_parse(s, sizeof s, &ri));
    CHECK(ri.encrypted);
    CHECK_EQ_UINT(ri.ssrc, 0x44444444);
    CHECK_EQ_UINT(ri.rb_count, 0);
    CHECK(!ri.has_sr);

    /* first packet's own length lies: still keeps the clear SSRC */
    uint8_t t[sizeof s];
    memcpy(t, s, sizeof t);
    t[2] = 0x01, t[3] = 0x00; /* 256 words */
    CHECK(rtcp_parse(t, sizeof t, &ri));
    CHECK(ri.encrypted);
    CHECK_EQ_UINT(ri.ssrc, 0x44444444);
    CHECK_EQ_UINT(ri.rb_count, 0);

    CHECK(!rtcp_parse(s, 7, &ri)); /* too short for anything */
}

int main(void)
{
    RUN(test_rfc7983_ranges);
    RUN(test_stun_binding);
    RUN(test_turn_channeldata);
    RUN(test_stun_data_indication);
    RUN(test_rtp_basic_and_csrc);
    RUN(test_rtp_one_byte_ext);
    RUN(test_rtp_two_byte_ext);
    RUN(test_rtp_padding);
    RUN(test_rtp_rtcp_pts);
    RUN(test_rtcp_sr_rr);
    RUN(test_srtcp);
    return check_finish("unit_demux_rtp");
}
/* clang-format on */
