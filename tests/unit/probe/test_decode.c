/* test_decode.c - probe/decode.h over hand-built frames. Every byte array is
 * annotated field by field. Frames are glued from the pieces below. */
/* clang-format off: the packets below are byte arrays annotated field by
 * field, one field a line, in columns a formatter would break. */
#include <netinet/in.h>
#include <stdlib.h>

#include "check.h"
#include "decode.h"

/* DLT numbers as pcap/dlt.h */
enum {
    DLT_NULL_ = 0,
    DLT_EN10MB_ = 1,
    DLT_RAW_ = 12,
    DLT_RAW101_ = 101,
    DLT_LOOP_ = 108,
    DLT_SLL_ = 113,
    DLT_SLL2_ = 276
};

/* ---- pieces ------------------------------------------------------------- */

#define ETH_MACS                                                                                   \
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,    /* dst MAC 00:11:22:33:44:55 */                         \
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb /* src MAC 66:77:88:99:aa:bb */

/* IPv4 + UDP + 8 payload bytes: 10.1.2.3:50010 -> 52.113.1.1:3478 */
#define IPV4_UDP_8                                                                                 \
    0x45,                                      /* version 4, IHL 5 (20 bytes) */                   \
        0xb8,                                  /* TOS: DSCP 46 (EF), ECN 0 */                      \
        0x00, 0x24,                            /* total length 36 = 20 IP + 8 UDP + 8 data */      \
        0x12, 0x34,                            /* identification */                                \
        0x40, 0x00,                            /* flags DF, fragment offset 0 */                   \
        0x40,                                  /* TTL 64 */                                        \
        0x11,                                  /* protocol 17 = UDP */                             \
        0x00, 0x00,                            /* header checksum (not verified) */                \
        10, 1, 2, 3,                           /* src 10.1.2.3 */                                  \
        52, 113, 1, 1,                         /* dst 52.113.1.1 */                                \
        0xc3, 0x5a,                            /* UDP src port 50010 */                            \
        0x0d, 0x96,                            /* UDP dst port 3478 */                             \
        0x00, 0x10,                            /* UDP length 16 = 8 header + 8 data */             \
        0x00, 0x00,                            /* UDP checksum: none */                            \
        'p', 'a', 'y', 'l', 'o', 'a', 'd', '!' /* 8 data bytes */

/* UDP header + 4 data bytes for the IPv6 frames: port 50010 -> 3478 */
#define UDP_4                                                                                      \
    0xc3, 0x5a,                /* src port 50010 */                                                \
        0x0d, 0x96,            /* dst port 3478 */                                                 \
        0x00, 0x0c,            /* length 12 = 8 header + 4 data */                                 \
        0x00, 0x00,            /* checksum (not verified) */                                       \
        0xde, 0xad, 0xbe, 0xef /* 4 data bytes */

/* IPv6 fixed header, next header and payload length given */
#define IPV6_HDR(plen, nh)                                                                         \
    0x60, 0x00, 0x00, 0x00, /* version 6, traffic class 0, flow label 0 */                         \
        0x00, (plen),       /* payload length */                                                   \
        (nh),               /* next header */                                                      \
        0x40,               /* hop limit 64 */                                                     \
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* src 2001:db8::1 */       \
        0x26, 0x03, 0x10, 0x63, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20  /* dst 2603:1063:1::20 */

static pkt_t P;

static decode_reason_t dec(int dlt, const uint8_t *f, size_t n)
{
    return decode_frame(dlt, f, (uint32_t)n, (uint32_t)n, 1000000, &P);
}

static void check_v4_udp8(const uint8_t *l3)
{
    CHECK_EQ_INT(P.src.family, 4);
    CHECK_EQ_UINT(P.src.a[0], 10);
    CHECK_EQ_UINT(P.src.a[3], 3);
    CHECK_EQ_UINT(P.dst.a[0], 52);
    CHECK_EQ_UINT(P.dst.a[1], 113);
    CHECK_EQ_INT(P.l4proto, IPPROTO_UDP);
    CHECK_EQ_UINT(P.sport, 50010);
    CHECK_EQ_UINT(P.dport, 3478);
    CHECK_EQ_UINT(P.ip_tos, 0xb8);
    CHECK_EQ_UINT(P.ttl, 64);
    CHECK(P.l3 == l3);
    CHECK_EQ_UINT(P.l3_len, 36);
    CHECK_EQ_UINT(P.payload_len, 8);
    CHECK_EQ_UINT(P.payload_wire_len, 8);
    CHECK(P.payload == l3 + 28);
    CHECK(P.payload && memcmp(P.payload, "payload!", 8) == 0);
    CHECK(!P.snap_truncated);
}

static void check_v6_udp4(void)
{
    CHECK_EQ_INT(P.src.family, 6);
    CHECK_EQ_UINT(P.src.a[0], 0x20);
    CHECK_EQ_UINT(P.dst.a[1], 0x03);
    CHECK_EQ_UINT(P.dst.a[15], 0x20);
    CHECK_EQ_INT(P.l4proto, IPPROTO_UDP);
    CHECK_EQ_UINT(P.sport, 50010);
    CHECK_EQ_UINT(P.dport, 3478);
    CHECK_EQ_UINT(P.payload_len, 4);
    CHECK(P.payload && memcmp(P.payload, "\xde\xad\xbe\xef", 4) == 0);
    CHECK_EQ_UINT(P.ttl, 64);
}

/* ---- link layers -------------------------------------------------------- */

static void test_ethernet_ipv4_udp(void)
{
    static const uint8_t f[] = {
        ETH_MACS,
        0x08,
        0x00, /* EtherType IPv4 */
        IPV4_UDP_8,
    };
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_OK);
    CHECK(P.has_mac);
    CHECK_EQ_UINT(P.dst_mac[0], 0x00);
    CHECK_EQ_UINT(P.dst_mac[5], 0x55);
    CHECK_EQ_UINT(P.src_mac[0], 0x66);
    CHECK_EQ_UINT(P.src_mac[5], 0xbb);
    CHECK_EQ_INT(P.vlan_count, 0);
    CHECK_EQ_INT(P.ts, 1000000);
    check_v4_udp8(f + 14);
}

static void test_vlan_8021q(void)
{
    static const uint8_t f[] = {
        ETH_MACS,   0x81, 0x00, /* TPID 802.1Q */
        0xa0,       0x64,       /* TCI: PCP 5, DEI 0, VID 100 */
        0x08,       0x00,       /* EtherType IPv4 */
        IPV4_UDP_8,
    };
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_OK);
    CHECK_EQ_INT(P.vlan_count, 1);
    CHECK_EQ_UINT(P.vlan[0], 100);
    check_v4_udp8(f + 18);
}

static void test_qinq(void)
{
    static const uint8_t f[] = {
        ETH_MACS,   0x88, 0xa8, /* TPID 802.1ad (S-tag) */
        0x00,       0xc8,       /* TCI: VID 200 (outer) */
        0x81,       0x00,       /* TPID 802.1Q (C-tag) */
        0x20,       0x64,       /* TCI: PCP 1, VID 100 (inner) */
        0x08,       0x00,       /* EtherType IPv4 */
        IPV4_UDP_8,
    };
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_OK);
    CHECK_EQ_INT(P.vlan_count, 2);
    CHECK_EQ_UINT(P.vlan[0], 200);
    CHECK_EQ_UINT(P.vlan[1], 100);
    check_v4_udp8(f + 22);
}

static void test_sll(void)
{
    static const uint8_t f[] = {
        0x00,       0x00,                                     /* packet type: to us */
        0x00,       0x01,                                     /* ARPHRD_ETHER */
        0x00,       0x06,                                     /* link-layer address length 6 */
        0x66,       0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00, /* address, padded to 8 */
        0x08,       0x00,                                     /* protocol IPv4 */
        IPV4_UDP_8,
    };
    CHECK_EQ_INT(dec(DLT_SLL_, f, sizeof f), DECODE_OK);
    CHECK(P.has_mac);
    CHECK_EQ_UINT(P.src_mac[0], 0x66);
    CHECK_EQ_UINT(P.src_mac[5], 0xbb);
    check_v4_udp8(f + 16);
    CHECK_EQ_INT(dec(DLT_SLL_, f, 15), DECODE_ERR_L2_TRUNCATED);
}

static void test_sll2(void)
{
    static const uint8_t f[] = {
        0x08,       0x00,                                     /* protocol IPv4 */
        0x00,       0x00,                                     /* reserved */
        0x00,       0x00, 0x00, 0x02,                         /* interface index 2 */
        0x00,       0x01,                                     /* ARPHRD_ETHER */
        0x04,                                                 /* packet type: outgoing */
        0x06,                                                 /* address length 6 */
        0x66,       0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00, /* address, padded to 8 */
        IPV4_UDP_8,
    };
    CHECK_EQ_INT(dec(DLT_SLL2_, f, sizeof f), DECODE_OK);
    CHECK(P.has_mac);
    CHECK_EQ_UINT(P.src_mac[1], 0x77);
    check_v4_udp8(f + 20);
    CHECK_EQ_INT(dec(DLT_SLL2_, f, 19), DECODE_ERR_L2_TRUNCATED);
}

static void test_null_both_orders(void)
{
    static const uint8_t le[] = {
        0x02,       0x00, 0x00, 0x00, /* AF_INET, written little-endian */
        IPV4_UDP_8,
    };
    static const uint8_t be[] = {
        0x00,       0x00, 0x00, 0x02, /* AF_INET, written big-endian */
        IPV4_UDP_8,
    };
    static const uint8_t be6[] = {
        0x00,
        0x00,
        0x00,
        0x1e,             /* AF_INET6 = 30 (macOS), big-endian */
        IPV6_HDR(12, 17), /* payload 12, next header UDP */
        UDP_4,
    };
    static const uint8_t le6[] = {
        0x18,
        0x00,
        0x00,
        0x00, /* AF_INET6 = 24 (NetBSD/OpenBSD), little-endian */
        IPV6_HDR(12, 17),
        UDP_4,
    };
    static const uint8_t other[] = {
        0x07,       0x00, 0x00, 0x00, /* family 7: not IP */
        IPV4_UDP_8,
    };
    CHECK_EQ_INT(dec(DLT_NULL_, le, sizeof le), DECODE_OK);
    check_v4_udp8(le + 4);
    CHECK(!P.has_mac);
    CHECK_EQ_INT(dec(DLT_NULL_, be, sizeof be), DECODE_OK);
    check_v4_udp8(be + 4);
    CHECK_EQ_INT(dec(DLT_LOOP_, be, sizeof be), DECODE_OK); /* DLT_LOOP: always network order */
    CHECK_EQ_INT(dec(DLT_NULL_, be6, sizeof be6), DECODE_OK);
    check_v6_udp4();
    CHECK_EQ_INT(dec(DLT_NULL_, le6, sizeof le6), DECODE_OK);
    check_v6_udp4();
    CHECK_EQ_INT(dec(DLT_NULL_, other, sizeof other), DECODE_SKIP_NON_IP);
    CHECK_EQ_INT(dec(DLT_NULL_, le, 3), DECODE_ERR_L2_TRUNCATED);
}

static void test_raw_ip(void)
{
    static const uint8_t v4[] = {IPV4_UDP_8};
    static const uint8_t v6[] = {
        IPV6_HDR(12, 17), /* payload 12, next header UDP */
        UDP_4,
    };
    CHECK_EQ_INT(dec(DLT_RAW_, v4, sizeof v4), DECODE_OK);
    check_v4_udp8(v4);
    CHECK(!P.has_mac);
    CHECK_EQ_INT(dec(DLT_RAW101_, v4, sizeof v4), DECODE_OK);
    check_v4_udp8(v4);
    CHECK_EQ_INT(dec(DLT_RAW_, v6, sizeof v6), DECODE_OK);
    check_v6_udp4();
    CHECK_EQ_INT(dec(DLT_RAW101_, v6, sizeof v6), DECODE_OK);
    check_v6_udp4();
    CHECK(P.l3 == v6);
    CHECK_EQ_UINT(P.l3_len, 52);
    CHECK_EQ_INT(dec(147, v4, sizeof v4), DECODE_SKIP_LINKTYPE); /* DLT_USER0 */
    CHECK(decode_linktype_supported(1));
    CHECK(decode_linktype_supported(276));
    CHECK(!decode_linktype_supported(147));
}

static void test_ipv4_options(void)
{
    static const uint8_t f[] = {
        0x46,                   /* version 4, IHL 6 (24 bytes) */
        0x00,                   /* TOS */
        0x00, 0x28,             /* total length 40 = 24 IP + 8 UDP + 8 data */
        0x00, 0x01,             /* identification */
        0x00, 0x00,             /* no flags, offset 0 */
        0x01,                   /* TTL 1 */
        0x11,                   /* UDP */
        0x00, 0x00,             /* checksum */
        10,   1,    2,    3,    /* src 10.1.2.3 */
        52,   113,  1,    1,    /* dst 52.113.1.1 */
        0x94, 0x04, 0x00, 0x00, /* option: Router Alert, length 4, value 0 */
        0xc3, 0x5a,             /* UDP src port 50010 */
        0x0d, 0x96,             /* UDP dst port 3478 */
        0x00, 0x10,             /* UDP length 16 */
        0x00, 0x00,             /* UDP checksum */
        'p',  'a',  'y',  'l',  'o', 'a', 'd', '!',
    };
    CHECK_EQ_INT(dec(DLT_RAW_, f, sizeof f), DECODE_OK);
    CHECK_EQ_UINT(P.sport, 50010);
    CHECK_EQ_UINT(P.dport, 3478);
    CHECK_EQ_UINT(P.l3_len, 40);
    CHECK_EQ_UINT(P.payload_len, 8);
    CHECK(P.payload == f + 32);
    CHECK_EQ_UINT(P.ttl, 1);
}

/* ---- IPv6 extension headers --------------------------------------------- */

/* IPv6 + hop-by-hop + fragment header + UDP. frag_hi/lo: offset << 3 | M. */
#define V6_HBH_FRAG(frag_hi, frag_lo)                                                              \
    IPV6_HDR(28, 0),            /* payload 28 = 8 HBH + 8 frag + 12 UDP; next: hop-by-hop */       \
        44,                     /* HBH: next header 44 (fragment) */                               \
        0,                      /* HBH: length 0 -> 8 bytes */                                     \
        0x01, 0x04, 0, 0, 0, 0, /* HBH: PadN option, 4 bytes of padding */                         \
        17,                     /* fragment: next header UDP */                                    \
        0,                      /* fragment: reserved */                                           \
        (frag_hi), (frag_lo),   /* fragment: offset (13 bits) << 3, res, M */                      \
        0x00, 0x00, 0xbe, 0xef, /* fragment: identification */                                     \
        UDP_4

static void test_ipv6_ext_fragments(void)
{
    static const uint8_t atomic[] = {V6_HBH_FRAG(0x00, 0x00)}; /* offset 0, M=0 */
    static const uint8_t first[] = {V6_HBH_FRAG(0x00, 0x01)};  /* offset 0, M=1 */
    static const uint8_t later[] = {V6_HBH_FRAG(0x05, 0xc8)};  /* offset 185 (1480 B), M=0 */
    static const uint8_t middle[] = {V6_HBH_FRAG(0x05, 0xc9)}; /* offset 185, M=1 */

    /* an atomic fragment (RFC 6946) is a whole packet: the UDP inside counts */
    CHECK_EQ_INT(dec(DLT_RAW_, atomic, sizeof atomic), DECODE_OK);
    check_v6_udp4();
    CHECK(P.payload == atomic + 40 + 16 + 8);

    /* first fragment: the walker gets to it and stops (no reassembly) */
    CHECK_EQ_INT(dec(DLT_RAW_, first, sizeof first), DECODE_SKIP_IP_FRAGMENT);
    CHECK(!decode_reason_is_malformed(DECODE_SKIP_IP_FRAGMENT));
    CHECK_EQ_INT(P.src.family, 6); /* addresses are known all the same */
    /* non-first fragments: no L4 header in them at all */
    CHECK_EQ_INT(dec(DLT_RAW_, later, sizeof later), DECODE_SKIP_IP_FRAGMENT);
    CHECK_EQ_UINT(P.sport, 0);
    CHECK_EQ_INT(dec(DLT_RAW_, middle, sizeof middle), DECODE_SKIP_IP_FRAGMENT);
}

static void test_ipv6_ext_truncated(void)
{
    static const uint8_t f[] = {
        IPV6_HDR(8, 0), /* payload 8 (all captured); next: hop-by-hop */
        17,             /* HBH: next header UDP */
        1,              /* HBH: length 1 -> 16 bytes, but only 8 follow */
        0x01,
        0x04,
        0,
        0,
        0,
        0, /* PadN */
    };
    CHECK_EQ_INT(dec(DLT_RAW_, f, sizeof f), DECODE_ERR_IPV6_EXT_TRUNCATED);
    /* a header cut after its first byte */
    static const uint8_t g[] = {
        IPV6_HDR(1, 60), /* payload 1; next: destination options */
        17,              /* only the next-header byte of it */
    };
    CHECK_EQ_INT(dec(DLT_RAW_, g, sizeof g), DECODE_ERR_IPV6_EXT_TRUNCATED);
    /* payload length larger than what was captured, no snap cut */
    static const uint8_t h[] = {
        IPV6_HDR(40, 17), /* payload 40 claimed; 12 present */
        UDP_4,
    };
    CHECK_EQ_INT(dec(DLT_RAW_, h, sizeof h), DECODE_ERR_IPV6_PAYLOAD_LENGTH);
    /* the same with a snap length cut (wire 80 bytes) is accepted */
    CHECK_EQ_INT(decode_frame(DLT_RAW_, h, sizeof h, 80, 0, &P), DECODE_OK);
    CHECK(!P.snap_truncated); /* UDP says 4 data bytes and all 4 are here */
}

/* ---- malformed input, one frame per reason ------------------------------ */

static void test_malformed_l2_l3(void)
{
    static const uint8_t eth[] = {
        ETH_MACS,
        0x08,
        0x00, /* EtherType IPv4 */
        IPV4_UDP_8,
    };
    CHECK_EQ_INT(dec(DLT_EN10MB_, eth, 13), DECODE_ERR_L2_TRUNCATED); /* EtherType cut */
    CHECK_EQ_INT(dec(DLT_EN10MB_, eth, 0), DECODE_ERR_L2_TRUNCATED);
    CHECK_EQ_INT(decode_frame(DLT_EN10MB_, NULL, 0, 0, 0, &P), DECODE_ERR_L2_TRUNCATED);
    CHECK_EQ_INT(dec(DLT_EN10MB_, eth, 14), DECODE_ERR_IP_TRUNCATED);      /* nothing after L2 */
    CHECK_EQ_INT(dec(DLT_EN10MB_, eth, 14 + 19), DECODE_ERR_IP_TRUNCATED); /* IPv4 hdr cut */

    static const uint8_t vlan_cut[] = {
        ETH_MACS, 0x81, 0x00, /* TPID 802.1Q */
        0x00,     0x64,       /* TCI VID 100; the inner EtherType is missing */
    };
    CHECK_EQ_INT(dec(DLT_EN10MB_, vlan_cut, sizeof vlan_cut), DECODE_ERR_VLAN_TRUNCATED);

    static const uint8_t arp[] = {
        ETH_MACS, 0x08, 0x06,                               /* EtherType ARP */
        0x00,     0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, /* ARP request header */
    };
    CHECK_EQ_INT(dec(DLT_EN10MB_, arp, sizeof arp), DECODE_SKIP_NON_IP);

    uint8_t f[sizeof eth];
    memcpy(f, eth, sizeof f);
    f[14] = 0x55; /* version 5 */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_ERR_IP_VERSION);

    memcpy(f, eth, sizeof f);
    f[14] = 0x44; /* IHL 4 (16 bytes) < 5 */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_ERR_IPV4_IHL);

    memcpy(f, eth, sizeof f);
    f[16] = 0x00, f[17] = 0x13; /* total length 19 < IHL 20 */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_ERR_IPV4_TOTAL_LENGTH);

    memcpy(f, eth, sizeof f);
    f[14] = 0x4f; /* IHL 15 (60 bytes): more than the 36 captured, total says 36 */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_ERR_IPV4_TOTAL_LENGTH);

    memcpy(f, eth, sizeof f);
    f[23] = 1; /* protocol ICMP */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_SKIP_OTHER_L4);

    memcpy(f, eth, sizeof f);
    f[20] = 0x20; /* flags MF, offset 0: first fragment */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_SKIP_IP_FRAGMENT);
    memcpy(f, eth, sizeof f);
    f[20] = 0x00, f[21] = 0xb9; /* offset 185: later fragment */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_SKIP_IP_FRAGMENT);
}

static void test_total_length_vs_snaplen(void)
{
    static const uint8_t eth[] = {
        ETH_MACS,
        0x08,
        0x00, /* EtherType IPv4 */
        IPV4_UDP_8,
    };
    uint8_t f[sizeof eth];
    memcpy(f, eth, sizeof f);
    f[16] = 0x00, f[17] = 0x40; /* total length 64 > 36 captured */
    f[38] = 0x00, f[39] = 0x2c; /* UDP length 44 = 64 - 20 */
    /* caplen == wirelen: the header lies */
    CHECK_EQ_INT(decode_frame(DLT_EN10MB_, f, sizeof f, sizeof f, 0, &P),
                 DECODE_ERR_IPV4_TOTAL_LENGTH);
    CHECK(decode_reason_is_malformed(DECODE_ERR_IPV4_TOTAL_LENGTH));
    /* caplen < wirelen: the snap length cut it; decode what is there */
    CHECK_EQ_INT(decode_frame(DLT_EN10MB_, f, sizeof f, 14 + 64, 0, &P), DECODE_OK);
    CHECK(P.snap_truncated);
    CHECK_EQ_UINT(P.payload_len, 8);
    CHECK_EQ_UINT(P.payload_wire_len, 36);
    CHECK_EQ_UINT(P.l3_len, 36);
    CHECK_EQ_UINT(P.caplen, sizeof f);
    CHECK_EQ_UINT(P.wirelen, 14 + 64);
    /* snap cut inside the UDP header */
    CHECK_EQ_INT(decode_frame(DLT_EN10MB_, f, 14 + 24, 14 + 64, 0, &P), DECODE_ERR_UDP_TRUNCATED);
}

static void test_malformed_l4(void)
{
    static const uint8_t eth[] = {
        ETH_MACS,
        0x08,
        0x00, /* EtherType IPv4 */
        IPV4_UDP_8,
    };
    uint8_t f[sizeof eth];

    memcpy(f, eth, sizeof f);
    f[38] = 0x00, f[39] = 0x11; /* UDP length 17 > 16 bytes of IP payload */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_ERR_UDP_LENGTH);
    memcpy(f, eth, sizeof f);
    f[38] = 0x00, f[39] = 0x07; /* UDP length 7 < its own header */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_ERR_UDP_LENGTH);
    memcpy(f, eth, sizeof f);
    f[38] = 0x00, f[39] = 0x0c; /* UDP length 12 < IP payload 16: trust UDP */
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_OK);
    CHECK_EQ_UINT(P.payload_len, 4);

    static const uint8_t udp_cut[] = {
        0x45, 0x00,                           /* v4, IHL 5, TOS 0 */
        0x00, 0x18,                           /* total length 24: only 4 bytes of UDP */
        0,    0,    0,    0,    64, 17, 0, 0, /* id, flags, TTL 64, UDP, checksum */
        10,   0,    0,    1,    10, 0,  0, 2, /* 10.0.0.1 -> 10.0.0.2 */
        0xc3, 0x5a, 0x0d, 0x96,               /* UDP ports; length and checksum missing */
    };
    CHECK_EQ_INT(dec(DLT_RAW_, udp_cut, sizeof udp_cut), DECODE_ERR_UDP_TRUNCATED);

    uint8_t tcp[] = {
        0x45, 0x00,                            /* v4, IHL 5, TOS 0 */
        0x00, 0x2c,                            /* total length 44 = 20 IP + 20 TCP + 4 data */
        0,    0,    0x40, 0,    64, 6,   0, 0, /* id, DF, TTL 64, TCP, checksum */
        10,   0,    0,    1,    52, 113, 1, 1, /* 10.0.0.1 -> 52.113.1.1 */
        0xc3, 0x5a,                            /* TCP src port 50010 */
        0x01, 0xbb,                            /* TCP dst port 443 */
        0x00, 0x00, 0x00, 0x64,                /* sequence 100 */
        0x00, 0x00, 0x00, 0x00,                /* ack 0 */
        0x50,                                  /* data offset 5 (20 bytes) */
        0x18,                                  /* flags PSH ACK */
        0xff, 0xff,                            /* window */
        0x00, 0x00, 0x00, 0x00,                /* checksum, urgent pointer */
        0x00, 0x00, 0x00, 0x04,                /* 4 data bytes: RFC 4571 length 4 */
    };
    CHECK_EQ_INT(dec(DLT_RAW_, tcp, sizeof tcp), DECODE_OK);
    CHECK_EQ_INT(P.l4proto, IPPROTO_TCP);
    CHECK_EQ_UINT(P.sport, 50010);
    CHECK_EQ_UINT(P.dport, 443);
    CHECK_EQ_UINT(P.tcp_seq, 100);
    CHECK_EQ_UINT(P.tcp_flags, 0x18);
    CHECK_EQ_UINT(P.payload_len, 4);
    CHECK(P.payload == tcp + 40);
    tcp[32] = 0x40; /* data offset 4 (16 bytes) < 5 */
    CHECK_EQ_INT(dec(DLT_RAW_, tcp, sizeof tcp), DECODE_ERR_TCP_OFFSET);
    tcp[32] = 0xf0; /* data offset 15 (60 bytes) > 24 bytes of IP payload */
    CHECK_EQ_INT(dec(DLT_RAW_, tcp, sizeof tcp), DECODE_ERR_TCP_OFFSET);
    tcp[32] = 0x50;
    tcp[2] = 0x00, tcp[3] = 0x20; /* total 32: 12 bytes of TCP header */
    CHECK_EQ_INT(dec(DLT_RAW_, tcp, 32), DECODE_ERR_TCP_TRUNCATED);
}

static void test_ethernet_padding(void)
{
    static const uint8_t f[60] = {
        ETH_MACS, 0x08, 0x00,                     /* EtherType IPv4 */
        0x45,     0x00,                           /* v4, IHL 5, TOS 0 */
        0x00,     0x20,                           /* total length 32 = 20 + 8 UDP + 4 data */
        0,        0,    0,    0,    64, 17, 0, 0, /* id, flags, TTL 64, UDP, checksum */
        10,       0,    0,    1,    10, 0,  0, 2, /* 10.0.0.1 -> 10.0.0.2 */
        0x13,     0x88,                           /* UDP src 5000 */
        0x13,     0x89,                           /* UDP dst 5001 */
        0x00,     0x0c,                           /* UDP length 12 */
        0x00,     0x00,                           /* checksum */
        0x80,     0x00, 0x00, 0x01,               /* 4 data bytes */
        /* 14 bytes of zero padding up to the 60-byte minimum frame */
    };
    CHECK_EQ_INT(dec(DLT_EN10MB_, f, sizeof f), DECODE_OK);
    CHECK_EQ_UINT(P.l3_len, 32);
    CHECK_EQ_UINT(P.payload_len, 4);
    CHECK_EQ_UINT(P.payload_wire_len, 4);
    CHECK(!P.snap_truncated);

    /* the same with a UDP length covering the padding is a lie */
    uint8_t g[60];
    memcpy(g, f, sizeof g);
    g[38] = 0x00, g[39] = 0x1a; /* UDP length 26 > 12 of IP payload */
    CHECK_EQ_INT(dec(DLT_EN10MB_, g, sizeof g), DECODE_ERR_UDP_LENGTH);
}

static void test_reason_names(void)
{
    for (int r = 0; r < DECODE_REASON_COUNT; r++) {
        const char *n = decode_reason_name((decode_reason_t)r);
        CHECK(n != NULL && n[0] != '\0' && strcmp(n, "unknown") != 0);
        CHECK_EQ_INT(decode_reason_is_malformed((decode_reason_t)r),
                     r > DECODE_OK && r < DECODE_SKIP_FIRST);
    }
    CHECK_STR(decode_reason_name(DECODE_REASON_COUNT), "unknown");
    CHECK_STR(decode_reason_name(DECODE_OK), "ok");
    CHECK(!decode_reason_is_malformed(DECODE_OK));
}

/* Every prefix of every frame above must decode without reading past it
 * (ASan watches) and never claim more payload than captured. */
static void test_all_prefixes(void)
{
    static const uint8_t frames[][80] = {
        {ETH_MACS, 0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x20, 0x64, 0x08, 0x00, IPV4_UDP_8},
        {V6_HBH_FRAG(0x00, 0x00)},
    };
    static const int dlts[] = {DLT_EN10MB_, DLT_RAW_};
    static const size_t lens[] = {22 + 36, 40 + 28};
    for (size_t i = 0; i < 2; i++) {
        for (size_t n = 0; n <= lens[i]; n++) {
            uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overruns */
            memcpy(copy, frames[i], n);
            decode_reason_t r = decode_frame(dlts[i], copy, (uint32_t)n, (uint32_t)lens[i], 0, &P);
            if (r == DECODE_OK)
                CHECK(P.payload_len <= n && P.payload + P.payload_len <= copy + n);
            free(copy);
        }
    }
}

int main(void)
{
    RUN(test_ethernet_ipv4_udp);
    RUN(test_vlan_8021q);
    RUN(test_qinq);
    RUN(test_sll);
    RUN(test_sll2);
    RUN(test_null_both_orders);
    RUN(test_raw_ip);
    RUN(test_ipv4_options);
    RUN(test_ipv6_ext_fragments);
    RUN(test_ipv6_ext_truncated);
    RUN(test_malformed_l2_l3);
    RUN(test_total_length_vs_snaplen);
    RUN(test_malformed_l4);
    RUN(test_ethernet_padding);
    RUN(test_reason_names);
    RUN(test_all_prefixes);
    return check_finish("unit_decode");
}
/* clang-format on */
