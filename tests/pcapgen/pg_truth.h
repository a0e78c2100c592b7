/* pg_truth: ground truth per RTP stream, accumulated over the packets in
 * on-wire order, written as OUT.pcap.truth.json. */
#ifndef PG_TRUTH_H
#define PG_TRUTH_H

#include <stddef.h>
#include <stdint.h>

/* Per-packet annotation carried alongside each frame. */
typedef struct {
    int32_t stream; /* truth stream id, -1 when not an RTP data packet */
    uint64_t lidx;  /* sender's gap-free logical packet index */
    uint32_t ts;    /* RTP timestamp */
    uint32_t abs24; /* abs-send-time (6.18) when has_abs */
    uint8_t has_abs;
} pg_meta;

typedef struct {
    char src[48];
    char dst[48];
    uint16_t sport;
    uint16_t dport;
    uint32_t ssrc;
    uint8_t pt;
    uint32_t clock;
    const char *media;
    const char *app;
    const char *encap;
    int vlan; /* outer VLAN id or -1 */
    int seq_restarts;
    uint8_t has_abs;
} pg_stream_info;

typedef struct {
    pg_stream_info info;
    uint64_t packets, dups, ooo, min_lidx, max_lidx;
    int any;
    uint8_t *seen; /* bitmap indexed by lidx */
    size_t seen_bytes;
    int have_prev;
    double prev_arr_s;
    uint32_t prev_ts;
    uint32_t prev_abs;
    double j, jmax, nj, njmax;
} pg_tstream;

typedef struct {
    const char *name;
    uint64_t count;
} pg_kv;

#define PG_TRUTH_KV_MAX 32

typedef struct {
    pg_tstream *v;
    size_t n, cap;
    pg_kv kv[PG_TRUTH_KV_MAX]; /* object-mode counters (malformed) */
    size_t nkv;
    int object_mode;
} pg_truth;

/* Returns the new stream id, or -1 on allocation failure. */
int32_t pg_truth_add(pg_truth *t, const pg_stream_info *info);
void pg_truth_observe(pg_truth *t, const pg_meta *m, uint64_t t_us);
/* Switches the file to {"malformed": {...}} form and adds to a counter. */
void pg_truth_count(pg_truth *t, const char *name, uint64_t n);
int pg_truth_write(const pg_truth *t, const char *path);
void pg_truth_free(pg_truth *t);

#endif
