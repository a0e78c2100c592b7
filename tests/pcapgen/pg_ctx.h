/* pg_ctx: one generation run: PRNG, output file, frame buffer, truth.
 * Buffered mode collects frames and writes them sorted by (time, emission
 * order); streaming mode (bench) writes at once and needs time order. */
#ifndef PG_CTX_H
#define PG_CTX_H

#include <stdint.h>

#include "pg_pcap.h"
#include "pg_rng.h"
#include "pg_truth.h"
#include "pg_wire.h"

/* 2026-01-15 10:00:00 UTC */
#define PG_T0_US (1768471200ULL * 1000000ULL)
#define PG_MS 1000ULL
#define PG_SEC 1000000ULL

typedef struct {
    uint64_t t_us;
    uint64_t order;
    size_t off;
    uint32_t caplen;
    uint32_t origlen;
    pg_meta meta;
} pg_rec;

typedef struct pg_ctx {
    pg_rng rng;
    uint32_t linktype;
    int streaming;
    pg_pcap pcap;
    pg_rec *recs;
    size_t nrec, caprec;
    uint8_t *arena;
    size_t alen, acap;
    pg_truth truth;
    uint64_t emitted;
    int failed;
    uint32_t bench_calls;
    uint64_t bench_packets;
} pg_ctx;

int pg_ctx_open(pg_ctx *c, const char *path, uint32_t linktype, uint64_t seed, int streaming);
/* meta may be NULL (not an RTP data packet). */
void pg_ctx_emit(pg_ctx *c, uint64_t t_us, const uint8_t *p, uint32_t caplen, uint32_t origlen,
                 const pg_meta *meta);
void pg_ctx_emit_frame(pg_ctx *c, uint64_t t_us, const pg_frame *f, const pg_meta *meta);
/* Writes what is buffered and the truth file (truth_path may be NULL).
 * Returns 0 or -1; frees everything. */
int pg_ctx_close(pg_ctx *c, const char *truth_path);

#endif
