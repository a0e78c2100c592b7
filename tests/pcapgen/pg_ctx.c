/* pg_ctx: frame sink with optional buffering and stable time sort. */
#include "pg_ctx.h"

#include <stdlib.h>
#include <string.h>

int pg_ctx_open(pg_ctx *c, const char *path, uint32_t linktype, uint64_t seed, int streaming)
{
    memset(c, 0, sizeof(*c));
    pg_rng_seed(&c->rng, seed);
    c->linktype = linktype;
    c->streaming = streaming;
    return pg_pcap_open(&c->pcap, path, linktype);
}

static void sink(pg_ctx *c, uint64_t t_us, const uint8_t *p, uint32_t caplen, uint32_t origlen,
                 const pg_meta *meta)
{
    if (pg_pcap_write(&c->pcap, t_us, p, caplen, origlen) != 0) {
        c->failed = 1;
    }
    if (meta != NULL) {
        pg_truth_observe(&c->truth, meta, t_us);
    }
}

static int grow(pg_ctx *c, size_t bytes)
{
    if (c->nrec == c->caprec) {
        size_t nc = c->caprec ? c->caprec * 2 : 4096;
        pg_rec *nr = realloc(c->recs, nc * sizeof(*nr));
        if (nr == NULL) {
            return -1;
        }
        c->recs = nr;
        c->caprec = nc;
    }
    if (c->alen + bytes > c->acap) {
        size_t na = c->acap ? c->acap : (1u << 20);
        uint8_t *np;
        while (c->alen + bytes > na) {
            na *= 2;
        }
        np = realloc(c->arena, na);
        if (np == NULL) {
            return -1;
        }
        c->arena = np;
        c->acap = na;
    }
    return 0;
}

void pg_ctx_emit(pg_ctx *c, uint64_t t_us, const uint8_t *p, uint32_t caplen, uint32_t origlen,
                 const pg_meta *meta)
{
    static const pg_meta none = {-1, 0, 0, 0, 0};
    pg_rec *r;

    c->emitted++;
    if (c->streaming) {
        sink(c, t_us, p, caplen, origlen, meta);
        return;
    }
    if (grow(c, caplen) != 0) {
        c->failed = 1;
        return;
    }
    r = &c->recs[c->nrec];
    r->t_us = t_us;
    r->order = c->nrec;
    r->off = c->alen;
    r->caplen = caplen;
    r->origlen = origlen;
    r->meta = meta != NULL ? *meta : none;
    memcpy(c->arena + c->alen, p, caplen);
    c->alen += caplen;
    c->nrec++;
}

void pg_ctx_emit_frame(pg_ctx *c, uint64_t t_us, const pg_frame *f, const pg_meta *meta)
{
    pg_ctx_emit(c, t_us, f->b, (uint32_t)f->len, (uint32_t)f->len, meta);
}

static int rec_cmp(const void *a, const void *b)
{
    const pg_rec *x = a;
    const pg_rec *y = b;

    if (x->t_us != y->t_us) {
        return x->t_us < y->t_us ? -1 : 1;
    }
    return x->order < y->order ? -1 : (x->order > y->order);
}

int pg_ctx_close(pg_ctx *c, const char *truth_path)
{
    int rc = 0;

    if (!c->streaming && c->nrec > 0) {
        qsort(c->recs, c->nrec, sizeof(*c->recs), rec_cmp);
        for (size_t i = 0; i < c->nrec; i++) {
            const pg_rec *r = &c->recs[i];
            sink(c, r->t_us, c->arena + r->off, r->caplen, r->origlen,
                 r->meta.stream >= 0 ? &r->meta : NULL);
        }
    }
    if (pg_pcap_close(&c->pcap) != 0 || c->failed) {
        rc = -1;
    }
    if (truth_path != NULL && pg_truth_write(&c->truth, truth_path) != 0) {
        rc = -1;
    }
    free(c->recs);
    free(c->arena);
    pg_truth_free(&c->truth);
    c->recs = NULL;
    c->arena = NULL;
    return rc;
}
