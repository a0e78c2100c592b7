/* flow.h - one bidirectional flow (5-tuple + VLAN) and what the probe learnt
 * about it. Owned by the flow table; the probe fills the fields.
 *
 * Sides: the key is normalised so that endpoint 0 sorts before endpoint 1;
 * dir 0 means a packet from endpoint 0 to endpoint 1. client_side says which
 * endpoint is the client (LAN side): see classify_client_side().
 */
#ifndef CALLSCOPE_FLOW_H
#define CALLSCOPE_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "demux.h"
#include "netaddr.h"
#include "timefmt.h"

typedef enum {
    APP_OTHER = 0,
    APP_TEAMS,
    APP_SKYPE,
    APP_ZOOM,
    APP_WEBEX,
    APP_MEET,
    APP_WHATSAPP,
    APP_FACEBOOK,
    APP_SIGNAL,
    APP_DISCORD,
    APP_COUNT
} app_t;

typedef enum {
    MEDIA_UNKNOWN = 0,
    MEDIA_AUDIO,
    MEDIA_VIDEO,
    MEDIA_SCREENSHARE,
    MEDIA_COUNT
} media_t;

/* Timeout classes: one LRU list each in the flow table. */
enum { FLOW_CLASS_UDP, FLOW_CLASS_TCP, FLOW_CLASS_TCP_CLOSED, FLOW_CLASS_COUNT };

typedef struct {
    netaddr_t addr[2];
    uint16_t port[2];
    uint16_t vlan; /* outer VLAN id, 0 if untagged */
    uint16_t vlan_inner;
    uint8_t proto;
    uint8_t pad[3]; /* zeroed: the key is hashed as bytes */
} flow_key_t;

struct rtp_stream;
struct tcp_deframer;
struct ndpi_flow_struct;

typedef struct flow {
    flow_key_t key;
    int8_t client_side; /* 0 or 1; the other endpoint is the remote */
    uint8_t init_side;  /* endpoint that sent the first packet */
    usec_t first_seen, last_seen;
    uint64_t pkts[2], bytes[2]; /* by direction (sender endpoint) */
    bool has_client_mac;
    uint8_t client_mac[6];
    bool fin_seen;

    /* classification */
    struct ndpi_flow_struct *ndpi;  /* freed once classification is done */
    struct classify_ranges *ranges; /* the nDPI module (ranges) f->ndpi began with */
    uint16_t ndpi_packets;
    bool ndpi_done;
    uint16_t ndpi_master, ndpi_app;
    bool not_media; /* nDPI named a protocol that never carries RTP */
    char ndpi_name[40];
    app_t app;
    media_t media;

    /* media demux */
    uint32_t kind_count[DEMUX_KIND_COUNT];
    uint32_t encap_count[ENCAP_COUNT];
    uint32_t srtcp_packets, rtcp_packets;
    uint32_t demux_malformed, rtp_malformed;
    struct tcp_deframer *tcp[2];
    uint8_t tcp_unframed; /* bit per direction: TCP payload is not media framing */

    struct rtp_stream *streams;        /* list, newest first */
    struct rtp_stream *last_stream[2]; /* last fed per direction (in the list) */
    uint32_t stream_count;

    /* table links */
    struct flow *hnext;
    struct flow *lru_prev, *lru_next;
    uint8_t lru_class;
    uint64_t hash;
} flow_t;

#endif
