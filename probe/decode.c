#include "decode.h"

#include <netinet/in.h>
#include <string.h>

#include "cursor.h"

/* DLT numbers (pcap/dlt.h); spelled out so this file needs no libpcap. */
enum {
    DLT_NULL_ = 0,
    DLT_EN10MB_ = 1,
    DLT_RAW_ = 12,
    DLT_RAW_OPENBSD_ = 14,
    DLT_RAW_LINKTYPE_ = 101,
    DLT_LOOP_ = 108,
    DLT_LINUX_SLL_ = 113,
    DLT_IPV4_ = 228,
    DLT_IPV6_ = 229,
    DLT_LINUX_SLL2_ = 276,
};

enum {
    ETH_IPV4 = 0x0800,
    ETH_IPV6 = 0x86DD,
    ETH_VLAN = 0x8100,
    ETH_QINQ = 0x88A8,
    ETH_QINQ_OLD = 0x9100,
};

static const char *const reason_names[DECODE_REASON_COUNT] = {
    [DECODE_OK] = "ok",
    [DECODE_ERR_L2_TRUNCATED] = "l2_truncated",
    [DECODE_ERR_VLAN_TRUNCATED] = "vlan_truncated",
    [DECODE_ERR_IP_TRUNCATED] = "ip_truncated",
    [DECODE_ERR_IP_VERSION] = "ip_bad_version",
    [DECODE_ERR_IPV4_IHL] = "ipv4_bad_ihl",
    [DECODE_ERR_IPV4_TOTAL_LENGTH] = "ipv4_bad_total_length",
    [DECODE_ERR_IPV6_PAYLOAD_LENGTH] = "ipv6_bad_payload_length",
    [DECODE_ERR_IPV6_EXT_TRUNCATED] = "ipv6_ext_truncated",
    [DECODE_ERR_UDP_TRUNCATED] = "udp_truncated",
    [DECODE_ERR_UDP_LENGTH] = "udp_bad_length",
    [DECODE_ERR_TCP_TRUNCATED] = "tcp_truncated",
    [DECODE_ERR_TCP_OFFSET] = "tcp_bad_offset",
    [DECODE_SKIP_NON_IP] = "non_ip",
    [DECODE_SKIP_IP_FRAGMENT] = "ip_fragment",
    [DECODE_SKIP_OTHER_L4] = "other_l4",
    [DECODE_SKIP_LINKTYPE] = "unsupported_linktype",
};

const char *decode_reason_name(decode_reason_t r)
{
    if ((unsigned)r >= DECODE_REASON_COUNT)
        return "unknown";
    return reason_names[r];
}

bool decode_reason_is_malformed(decode_reason_t r)
{
    return r > DECODE_OK && r < DECODE_SKIP_FIRST;
}

bool decode_linktype_supported(int dlt)
{
    switch (dlt) {
    case DLT_NULL_:
    case DLT_EN10MB_:
    case DLT_RAW_:
    case DLT_RAW_OPENBSD_:
    case DLT_RAW_LINKTYPE_:
    case DLT_LOOP_:
    case DLT_LINUX_SLL_:
    case DLT_IPV4_:
    case DLT_IPV6_:
    case DLT_LINUX_SLL2_:
        return true;
    default:
        return false;
    }
}

/* ---- transport ---------------------------------------------------------- */

static decode_reason_t decode_udp(cur_t *c, uint32_t declared, pkt_t *p)
{
    uint16_t len, csum;
    if (!cur_u16be(c, &p->sport) || !cur_u16be(c, &p->dport) || !cur_u16be(c, &len) ||
        !cur_u16be(c, &csum))
        return DECODE_ERR_UDP_TRUNCATED;
    if (len < 8 || len > declared)
        return DECODE_ERR_UDP_LENGTH;
    p->l4proto = IPPROTO_UDP;
    p->payload_wire_len = len - 8u;
    size_t avail = cur_left(c);
    p->payload = cur_here(c);
    p->payload_len = (uint32_t)(avail < p->payload_wire_len ? avail : p->payload_wire_len);
    p->snap_truncated = p->payload_len < p->payload_wire_len;
    return DECODE_OK;
}

static decode_reason_t decode_tcp(cur_t *c, uint32_t declared, pkt_t *p)
{
    uint32_t ack;
    uint8_t off, flags;
    if (!cur_u16be(c, &p->sport) || !cur_u16be(c, &p->dport) || !cur_u32be(c, &p->tcp_seq) ||
        !cur_u32be(c, &ack) || !cur_u8(c, &off) || !cur_u8(c, &flags))
        return DECODE_ERR_TCP_TRUNCATED;
    uint32_t hlen = (uint32_t)(off >> 4) * 4u;
    if (hlen < 20 || hlen > declared)
        return DECODE_ERR_TCP_OFFSET;
    if (!cur_skip(c, hlen - 14))
        return DECODE_ERR_TCP_TRUNCATED;
    p->l4proto = IPPROTO_TCP;
    p->tcp_flags = flags;
    p->payload_wire_len = declared - hlen;
    size_t avail = cur_left(c);
    p->payload = cur_here(c);
    p->payload_len = (uint32_t)(avail < p->payload_wire_len ? avail : p->payload_wire_len);
    p->snap_truncated = p->payload_len < p->payload_wire_len;
    return DECODE_OK;
}

static decode_reason_t decode_l4(cur_t *c, uint8_t proto, uint32_t declared, pkt_t *p)
{
    if (proto == IPPROTO_UDP)
        return decode_udp(c, declared, p);
    if (proto == IPPROTO_TCP)
        return decode_tcp(c, declared, p);
    return DECODE_SKIP_OTHER_L4;
}

/* ---- network ------------------------------------------------------------ */

/* The capture was cut short by the snap length (not a lie in the headers). */
static bool snapped(const pkt_t *p)
{
    return p->caplen < p->wirelen;
}

static decode_reason_t decode_ipv4(cur_t *c, pkt_t *p)
{
    const uint8_t *start = cur_here(c);
    size_t avail = cur_left(c);
    uint8_t vihl, tos, ttl, proto;
    uint16_t total, id, frag, csum;
    uint8_t src[4], dst[4];
    if (!cur_u8(c, &vihl) || !cur_u8(c, &tos) || !cur_u16be(c, &total) || !cur_u16be(c, &id) ||
        !cur_u16be(c, &frag) || !cur_u8(c, &ttl) || !cur_u8(c, &proto) || !cur_u16be(c, &csum) ||
        !cur_copy(c, src, 4) || !cur_copy(c, dst, 4))
        return DECODE_ERR_IP_TRUNCATED;
    uint32_t ihl = (vihl & 0x0Fu) * 4u;
    if (ihl < 20)
        return DECODE_ERR_IPV4_IHL;
    if (total < ihl)
        return DECODE_ERR_IPV4_TOTAL_LENGTH;
    if (total > avail && !snapped(p))
        return DECODE_ERR_IPV4_TOTAL_LENGTH;
    if (!cur_skip(c, ihl - 20))
        return DECODE_ERR_IP_TRUNCATED;
    netaddr_set4(&p->src, src);
    netaddr_set4(&p->dst, dst);
    p->ip_tos = tos;
    p->ttl = ttl;
    p->l3 = start;
    p->l3_len = (uint32_t)(total < avail ? total : avail);
    if ((frag & 0x3FFF) != 0) /* MF set or offset non-zero */
        return DECODE_SKIP_IP_FRAGMENT;
    /* Clip Ethernet padding: the L4 cursor ends where the IP packet ends. */
    cur_t l4;
    size_t l4_cap = p->l3_len - ihl;
    cur_init(&l4, cur_here(c), l4_cap);
    return decode_l4(&l4, proto, total - ihl, p);
}

static bool ipv6_is_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51 || nh == 135 || nh == 139 ||
           nh == 140;
}

static decode_reason_t walk_ipv6_ext(cur_t *c, uint8_t *nh, uint32_t *remaining)
{
    for (int hops = 0; ipv6_is_ext(*nh); hops++) {
        uint8_t next, hlen;
        if (hops >= 16 || !cur_u8(c, &next) || !cur_u8(c, &hlen))
            return DECODE_ERR_IPV6_EXT_TRUNCATED;
        uint32_t len;
        if (*nh == 44) { /* fragment header: fixed 8 bytes */
            uint16_t offflags;
            if (!cur_u16be(c, &offflags) || !cur_skip(c, 4))
                return DECODE_ERR_IPV6_EXT_TRUNCATED;
            if (*remaining < 8)
                return DECODE_ERR_IPV6_PAYLOAD_LENGTH;
            *remaining -= 8;
            *nh = next;
            if ((offflags & 0xFFF9) != 0) /* offset or M flag */
                return DECODE_SKIP_IP_FRAGMENT;
            continue;
        }
        len = (*nh == 51) ? ((uint32_t)hlen + 2u) * 4u : ((uint32_t)hlen + 1u) * 8u;
        if (!cur_skip(c, len - 2))
            return DECODE_ERR_IPV6_EXT_TRUNCATED;
        if (*remaining < len)
            return DECODE_ERR_IPV6_PAYLOAD_LENGTH;
        *remaining -= len;
        *nh = next;
    }
    return DECODE_OK;
}

static decode_reason_t decode_ipv6(cur_t *c, pkt_t *p)
{
    const uint8_t *start = cur_here(c);
    size_t avail = cur_left(c);
    uint32_t vtcfl;
    uint16_t plen;
    uint8_t nh, hlim, src[16], dst[16];
    if (!cur_u32be(c, &vtcfl) || !cur_u16be(c, &plen) || !cur_u8(c, &nh) || !cur_u8(c, &hlim) ||
        !cur_copy(c, src, 16) || !cur_copy(c, dst, 16))
        return DECODE_ERR_IP_TRUNCATED;
    uint32_t remaining = plen;
    if (plen == 0) /* jumbogram or lie: take what was captured */
        remaining = (uint32_t)cur_left(c);
    if (40u + remaining > avail && !snapped(p))
        return DECODE_ERR_IPV6_PAYLOAD_LENGTH;
    netaddr_set6(&p->src, src);
    netaddr_set6(&p->dst, dst);
    p->ip_tos = (uint8_t)(vtcfl >> 20);
    p->ttl = hlim;
    p->l3 = start;
    p->l3_len = (uint32_t)(40u + remaining < avail ? 40u + remaining : avail);
    cur_t body;
    cur_init(&body, cur_here(c), p->l3_len - 40u);
    decode_reason_t r = walk_ipv6_ext(&body, &nh, &remaining);
    if (r != DECODE_OK)
        return r;
    return decode_l4(&body, nh, remaining, p);
}

static decode_reason_t decode_ip(cur_t *c, pkt_t *p)
{
    uint8_t v;
    if (!cur_peek_u8(c, 0, &v))
        return DECODE_ERR_IP_TRUNCATED;
    if ((v >> 4) == 4)
        return decode_ipv4(c, p);
    if ((v >> 4) == 6)
        return decode_ipv6(c, p);
    return DECODE_ERR_IP_VERSION;
}

static decode_reason_t decode_ethertype(cur_t *c, uint16_t type, pkt_t *p)
{
    if (type == ETH_IPV4 || type == ETH_IPV6)
        return decode_ip(c, p);
    return DECODE_SKIP_NON_IP;
}

/* ---- link --------------------------------------------------------------- */

static decode_reason_t decode_ether(cur_t *c, pkt_t *p)
{
    uint16_t type;
    if (!cur_copy(c, p->dst_mac, 6) || !cur_copy(c, p->src_mac, 6) || !cur_u16be(c, &type))
        return DECODE_ERR_L2_TRUNCATED;
    p->has_mac = true;
    while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
        uint16_t tci;
        if (!cur_u16be(c, &tci) || !cur_u16be(c, &type))
            return DECODE_ERR_VLAN_TRUNCATED;
        if (p->vlan_count < DECODE_MAX_VLANS)
            p->vlan[p->vlan_count++] = tci & 0x0FFF;
    }
    return decode_ethertype(c, type, p);
}

static decode_reason_t decode_sll(cur_t *c, pkt_t *p)
{
    uint16_t pkttype, hatype, halen, proto;
    uint8_t addr[8];
    if (!cur_u16be(c, &pkttype) || !cur_u16be(c, &hatype) || !cur_u16be(c, &halen) ||
        !cur_copy(c, addr, 8) || !cur_u16be(c, &proto))
        return DECODE_ERR_L2_TRUNCATED;
    if (halen == 6) {
        memcpy(p->src_mac, addr, 6);
        p->has_mac = true;
    }
    return decode_ethertype(c, proto, p);
}

static decode_reason_t decode_sll2(cur_t *c, pkt_t *p)
{
    uint16_t proto, reserved, hatype;
    uint32_t ifindex;
    uint8_t pkttype, halen, addr[8];
    if (!cur_u16be(c, &proto) || !cur_u16be(c, &reserved) || !cur_u32be(c, &ifindex) ||
        !cur_u16be(c, &hatype) || !cur_u8(c, &pkttype) || !cur_u8(c, &halen) ||
        !cur_copy(c, addr, 8))
        return DECODE_ERR_L2_TRUNCATED;
    if (halen == 6) {
        memcpy(p->src_mac, addr, 6);
        p->has_mac = true;
    }
    return decode_ethertype(c, proto, p);
}

static decode_reason_t decode_null(cur_t *c, pkt_t *p)
{
    uint32_t fam;
    if (!cur_u32le(c, &fam))
        return DECODE_ERR_L2_TRUNCATED;
    if (fam > 0xFFFF) /* written by a big-endian host */
        fam = ((fam & 0xFF) << 24) | ((fam & 0xFF00) << 8) | ((fam >> 8) & 0xFF00) | (fam >> 24);
    /* AF_INET is 2 everywhere; AF_INET6 is 10, 24, 28 or 30 by OS. */
    if (fam == 2 || fam == 10 || fam == 24 || fam == 28 || fam == 30)
        return decode_ip(c, p);
    return DECODE_SKIP_NON_IP;
}

static decode_reason_t decode_link(int dlt, cur_t *c, pkt_t *p)
{
    switch (dlt) {
    case DLT_EN10MB_:
        return decode_ether(c, p);
    case DLT_LINUX_SLL_:
        return decode_sll(c, p);
    case DLT_LINUX_SLL2_:
        return decode_sll2(c, p);
    case DLT_NULL_:
    case DLT_LOOP_:
        return decode_null(c, p);
    case DLT_RAW_:
    case DLT_RAW_OPENBSD_:
    case DLT_RAW_LINKTYPE_:
    case DLT_IPV4_:
    case DLT_IPV6_:
        return decode_ip(c, p);
    default:
        return DECODE_SKIP_LINKTYPE;
    }
}

decode_reason_t decode_frame(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                             usec_t ts, pkt_t *out)
{
    memset(out, 0, sizeof *out);
    out->ts = ts;
    out->caplen = caplen;
    out->wirelen = wirelen < caplen ? caplen : wirelen;
    cur_t c;
    cur_init(&c, data, caplen);
    return decode_link(dlt, &c, out);
}
