/* decode.h - L2 to L4 decode of one captured frame.
 *
 * Link types: Ethernet (with 802.1Q / 802.1ad QinQ), Linux cooked SLL and
 * SLL2, raw IP, BSD loopback (DLT_NULL / DLT_LOOP). Network: IPv4 (options
 * skipped; fragments counted, not reassembled) and IPv6 (extension headers
 * walked). Transport: UDP and TCP. Every read goes through a cur_t; a frame
 * that cannot be decoded returns a reason, which the caller counts.
 */
#ifndef CALLSCOPE_DECODE_H
#define CALLSCOPE_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "netaddr.h"
#include "timefmt.h"

/* Why a frame was not decoded to UDP/TCP. DECODE_OK means it was. Reasons
 * below DECODE_SKIP_FIRST are malformed input; the others are traffic the
 * probe does not measure (non-IP, ICMP, fragments). Keep decode_reason_name
 * in step. */
typedef enum {
    DECODE_OK = 0,
    DECODE_ERR_L2_TRUNCATED,
    DECODE_ERR_VLAN_TRUNCATED,
    DECODE_ERR_IP_TRUNCATED,
    DECODE_ERR_IP_VERSION,
    DECODE_ERR_IPV4_IHL,
    DECODE_ERR_IPV4_TOTAL_LENGTH,
    DECODE_ERR_IPV6_PAYLOAD_LENGTH,
    DECODE_ERR_IPV6_EXT_TRUNCATED,
    DECODE_ERR_UDP_TRUNCATED,
    DECODE_ERR_UDP_LENGTH,
    DECODE_ERR_TCP_TRUNCATED,
    DECODE_ERR_TCP_OFFSET,
    DECODE_SKIP_FIRST,
    DECODE_SKIP_NON_IP = DECODE_SKIP_FIRST,
    DECODE_SKIP_IP_FRAGMENT,
    DECODE_SKIP_OTHER_L4,
    DECODE_SKIP_LINKTYPE,
    DECODE_REASON_COUNT
} decode_reason_t;

const char *decode_reason_name(decode_reason_t r);
bool decode_reason_is_malformed(decode_reason_t r);

#define DECODE_MAX_VLANS 2

typedef struct {
    usec_t ts;
    uint32_t caplen, wirelen;

    bool has_mac;
    uint8_t src_mac[6], dst_mac[6];
    uint8_t vlan_count;
    uint16_t vlan[DECODE_MAX_VLANS]; /* outer first */

    netaddr_t src, dst;
    uint8_t l4proto;   /* IPPROTO_UDP or IPPROTO_TCP */
    uint8_t ip_tos;    /* DSCP << 2 | ECN */
    uint8_t ttl;       /* hop limit for IPv6 */
    const uint8_t *l3; /* borrowed: IP header, for nDPI */
    uint32_t l3_len;   /* captured bytes from l3 on, clipped to the IP length */

    uint16_t sport, dport;
    uint8_t tcp_flags;
    uint32_t tcp_seq;
    const uint8_t *payload;    /* borrowed; captured L4 payload */
    uint32_t payload_len;      /* captured bytes of payload */
    uint32_t payload_wire_len; /* payload length the headers declare */
    bool snap_truncated;       /* capture cut the payload (snaplen) */
} pkt_t;

/* DLT values as in pcap/dlt.h; passed straight from pcap_datalink(). */
bool decode_linktype_supported(int dlt);
decode_reason_t decode_frame(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                             usec_t ts, pkt_t *out);

#endif
